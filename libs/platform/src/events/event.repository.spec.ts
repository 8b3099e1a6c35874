import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { DeadLetterRepository, type DeadLetter } from '../queues/dead-letter.repository';
import { EventRepository } from './event.repository';

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
