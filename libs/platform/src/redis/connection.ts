import IORedis, { type Redis } from 'ioredis';

export class RedisEvictionPolicyError extends Error {
  constructor(policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}": queued jobs and finding state could be evicted. ` +
        'Set "maxmemory-policy noeviction" (redis.conf or CONFIG SET) on the Redis Klaxon uses.',
    );
    this.name = 'RedisEvictionPolicyError';
  }
}

/** An ioredis connection as BullMQ needs it: blocking commands must never give up. */
export function createRedis(url: string, name: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: `klaxon:${name}` });
}

/** Refuses to run on a Redis that may evict keys (BullMQ's own warning is only a log line). */
export async function assertNoEviction(redis: Redis): Promise<void> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy && policy !== 'noeviction') throw new RedisEvictionPolicyError(policy);
  } catch (err) {
    // Managed Redis services often forbid CONFIG; nothing to check then.
    if (err instanceof RedisEvictionPolicyError) throw err;
  }
}
