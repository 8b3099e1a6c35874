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

/**
 * The `hash-max-listpack-value` Klaxon's Redis should run with (Redis's default is 64 bytes). A finding's
 * hash holds its report JSON (1 to 8 KB); under this limit Redis keeps the hash as one compact listpack
 * instead of a hash table, about 30 % less memory per finding (docs/redis.md, "Memory").
 */
export const HASH_MAX_LISTPACK_VALUE = '8192';

/**
 * What to tune on the Redis Klaxon uses, or undefined when nothing: a Redis that keeps findings in
 * hash tables still works, it only takes more memory. CONFIG may be forbidden (managed Redis): no advice then.
 */
export async function redisMemoryAdvice(redis: Redis): Promise<string | undefined> {
  try {
    const [, value] = (await redis.config('GET', 'hash-max-listpack-value')) as [string, string];
    if (value === undefined || Number(value) >= Number(HASH_MAX_LISTPACK_VALUE)) return undefined;
    return (
      `Redis hash-max-listpack-value is ${value}: each finding takes about 30 % more memory than with ` +
      `"hash-max-listpack-value ${HASH_MAX_LISTPACK_VALUE}" (redis.conf or CONFIG SET; docs/redis.md, "Memory").`
    );
  } catch {
    return undefined;
  }
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
