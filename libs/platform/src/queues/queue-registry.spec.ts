import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { waitFor } from '../../../../test/support/wait';
import { createLogger } from '../logging/logger';
import { DEFAULT_QUEUE_POLICY, QueueRegistry, jobOptions } from './queue-registry';

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
  it('a day of them per queue, but at most 100 completed deliveries and group timers, whose ledgers and windows make a repeat a no-op', () => {
    expect(jobOptions(DEFAULT_QUEUE_POLICY, 'ingest').removeOnComplete).toEqual({ age: 86_400, count: 50_000 });
    expect(jobOptions(DEFAULT_QUEUE_POLICY, 'deliver.webhook').removeOnComplete).toEqual({ age: 86_400, count: 100 });
    expect(jobOptions(DEFAULT_QUEUE_POLICY, 'group').removeOnComplete).toEqual({ age: 86_400, count: 100 });
  });
});
