import { randomUUID } from 'node:crypto';
import IORedis, { type Redis } from 'ioredis';

/** The private test Redis started by the global setup (never the developer's own on 6379). */
export function testRedisUrl(): string {
  const url = process.env.KLAXON_TEST_REDIS_URL;
  if (!url) throw new Error('KLAXON_TEST_REDIS_URL is unset: run the tests through `npm test` (vitest globalSetup starts Redis)');
  return url;
}

/** A key prefix no other test uses, so test files can share the one Redis in parallel. */
export function testPrefix(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

export function testRedis(): Redis {
  return new IORedis(testRedisUrl(), { maxRetriesPerRequest: null });
}

/** Deletes every key under a prefix (end of a test file). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
