import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { waitFor } from '../../../../test/support/wait';
import { createLogger } from '../logging/logger';
import { DEFAULT_QUEUE_POLICY, EVENTS_KEPT, QueueRegistry, jobOptions } from './queue-registry';

describe('a failed job as it is stored', () => {
  let redis: Redis;
  let prefix: string;
  let queues: QueueRegistry;
  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('queues');
    queues = new QueueRegistry(redis, prefix, createLogger({ level: 'silent' }));
  });
  afterAll(async () => {
    await queues.close();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('keeps no URL credentials or secret query values in the dead letter nor in BullMQ’s failure', async () => {
    queues.work({
      queue: 'deliver.webhook',
      schema: z.object({ n: z.number() }),
      handle: async () => {
        throw Object.assign(new Error('webhook: ECONNREFUSED (request to https://klaxon:s3cret@siem.example.com/hook?token=t0ken failed)'), {
          code: 'destination_rejected',
        });
      },
    });
    await queues.add('deliver.webhook', 'deliver', { n: 1 }, { jobId: 'redact-1', attempts: 1 });
    const letter = await waitFor(async () => (await queues.deadLetters.list(0, 10)).items[0], 'the dead letter');
    expect(letter.error.message).toContain('https://***@siem.example.com/hook?token=***');
    const job = await queues.queue('deliver.webhook').getJob('redact-1');
    const stored = JSON.stringify({ letter, failedReason: job?.failedReason, stacktrace: job?.stacktrace });
    expect(stored).not.toContain('s3cret');
    expect(stored).not.toContain('t0ken');
  });
});

describe('completed jobs kept', () => {
  let redis: Redis;
  let prefix: string;
  let queues: QueueRegistry;
  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('kept');
    queues = new QueueRegistry(redis, prefix, createLogger({ level: 'silent' }));
  });
  afterAll(async () => {
    await queues.close();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('a day of them per queue, but none of the deliveries and group timers, whose ledgers and windows make a repeat a no-op', () => {
    expect(jobOptions(DEFAULT_QUEUE_POLICY, 'ingest').removeOnComplete).toEqual({ age: 86_400, count: 50_000 });
    expect(jobOptions(DEFAULT_QUEUE_POLICY, 'deliver.webhook').removeOnComplete).toBe(true);
    expect(jobOptions(DEFAULT_QUEUE_POLICY, 'group').removeOnComplete).toBe(true);
  });

  it('a completed delivery leaves no job behind, a completed input stays for its id, and no queue keeps more than 1,000 events', async () => {
    const done: number[] = [];
    for (const queue of ['deliver.webhook', 'ingest']) {
      queues.work({ queue, schema: z.object({ n: z.number() }), handle: async ({ n }) => void done.push(n) });
    }
    await queues.add('deliver.webhook', 'deliver', { n: 1 }, { jobId: 'sent-1' });
    await queues.add('ingest', 'ingest', { n: 2 }, { jobId: 'input-2' });
    await waitFor(async () => done.length === 2 || undefined, 'both jobs done');
    await waitFor(async () => (await queues.queue('ingest').getJobState('input-2')) === 'completed' || undefined, 'the input completed');
    await waitFor(async () => (await queues.queue('deliver.webhook').getJob('sent-1')) === undefined || undefined, 'the delivery gone');
    expect(await queues.queue('deliver.webhook').getCompletedCount()).toBe(0);
    for (const queue of ['deliver.webhook', 'ingest']) {
      expect(await redis.hget(`${prefix}:bull:${queue}:meta`, 'opts.maxLenEvents')).toBe(String(EVENTS_KEPT));
    }
  });
});
