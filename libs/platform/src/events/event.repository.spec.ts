import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { DeadLetterRepository, type DeadLetter } from '../queues/dead-letter.repository';
import { EventRepository, packBody, unpackBody } from './event.repository';

describe('event and dead-letter bookkeeping on Redis', () => {
  let redis: Redis;
  let prefix: string;
  let events: EventRepository;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('events');
    events = new EventRepository(redis, prefix);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('quarantine keeps bodies within its caps: an oversized body is dropped, the oldest go when the total is exceeded', async () => {
    const capped = new EventRepository(redis, `${prefix}:capped`, {
      events: 3_600_000,
      quarantine: { keep: 86_400_000, maxItemBytes: 20, maxTotalBytes: 40 },
    });
    const receive = async (id: string, raw: string, minute: number) => {
      await capped.store({ id, integration: 'report', context: {}, receivedAt: '2026-11-25T10:00:00Z' }, raw);
      await capped.quarantine(id, { message: 'unexpected token' }, new Date(Date.UTC(2026, 10, 25, 10, minute)));
    };
    await receive('evt_huge', 'x'.repeat(21), 0);
    expect(await capped.raw('evt_huge')).toBeNull();
    expect((await capped.get('evt_huge'))?.bodyDropped).toMatch(/maxItemBytes/);
    expect(await redis.ttl(`${prefix}:capped:event:evt_huge`)).toBeGreaterThan(3_600);

    for (const [i, id] of ['evt_1', 'evt_2', 'evt_3'].entries()) await receive(id, `{"broken": ${i}`.padEnd(15, ' '), i + 1);
    const { items } = await capped.listQuarantine(0, 10);
    // Oldest first: the body-less one, then evt_1, until the bodies fit again.
    expect(items.map((e) => e.id).sort()).toEqual(['evt_2', 'evt_3']);
    expect(await capped.raw('evt_1')).toBeNull();
    expect(await capped.get('evt_1')).toBeNull();
    expect(await capped.quarantinedBytes()).toBe(30);

    await capped.release('evt_3');
    expect(await capped.quarantinedBytes()).toBe(15);
    expect(await capped.unlistQuarantinedBefore(new Date(Date.UTC(2026, 10, 25, 10, 2, 30)))).toBe(1);
    expect((await capped.listQuarantine(0, 10)).total).toBe(0);
    expect(await capped.quarantinedBytes()).toBe(0);
  });

  it('a stage marking an event that already expired leaves a hash that still expires', async () => {
    await events.markTriaged('evt_gone', { new: 1 });
    expect(await redis.ttl(`${prefix}:event:evt_gone`)).toBeGreaterThan(0);
  });

  it('a delivery id given back by its event can be claimed again; another event’s claim stays', async () => {
    expect(await events.claimDelivery('github', 'd-1', 'evt_a')).toBeUndefined();
    expect(await events.claimDelivery('github', 'd-1', 'evt_b')).toBe('evt_a');
    await events.releaseDelivery('github', 'd-1', 'evt_b');
    expect(await events.claimDelivery('github', 'd-1', 'evt_c')).toBe('evt_a');
    await events.releaseDelivery('github', 'd-1', 'evt_a');
    expect(await events.claimDelivery('github', 'd-1', 'evt_d')).toBeUndefined();
  });

  it('two concurrent takes of one dead letter: exactly one gets it', async () => {
    const letters = new DeadLetterRepository(redis, prefix);
    const letter: DeadLetter = {
      id: 'deliver.slack-1',
      queue: 'deliver.slack',
      jobName: 'deliver-notification',
      data: { n: 1 },
      error: { name: 'DestinationRejected', message: 'invalid_auth' },
      attempts: 1,
      failedAt: '2026-11-23T10:00:00.000Z',
    };
    await letters.add(letter);
    const taken = await Promise.all([letters.take(letter.id), letters.take(letter.id)]);
    expect(taken.filter(Boolean)).toEqual([letter]);
    expect((await letters.list(0, 10)).total).toBe(0);
  });
});

describe('raw bodies as stored', () => {
  it('keeps small bodies as text and compresses large ones, reading both back exactly', () => {
    const small = '{"a":1}';
    expect(packBody(small)).toBe(small);
    const large = JSON.stringify({
      alerts: Array.from({ length: 200 }, (_, i) => ({ labels: { alertname: 'KubePodCrashLooping', pod: `svc-${i}`, note: 'é ✓' } })),
    });
    const packed = packBody(large) as Buffer;
    expect(Buffer.isBuffer(packed)).toBe(true);
    expect(packed.length).toBeLessThan(large.length / 5);
    expect(unpackBody(packed)).toBe(large);
    expect(unpackBody(Buffer.from(small))).toBe(small);
  });
});
