import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoEviction, createRedis, HASH_MAX_LISTPACK_VALUE, redisMemoryAdvice, RedisEvictionPolicyError } from './connection';
import { RedisBinaryMissing, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis';

describe('embedded redis-server', () => {
  let dir: string;
  let redis: EmbeddedRedis;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'klaxon-embedded-'));
    redis = await startEmbeddedRedis({ dir });
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs with the append-only file on and eviction off, and keeps data across a restart', async () => {
    const client = createRedis(redis.url, 'spec');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    await expect(assertNoEviction(client)).resolves.toBeUndefined();
    await client.set('survives', 'yes');
    await client.quit();
    await redis.stop();

    redis = await startEmbeddedRedis({ dir });
    const again = createRedis(redis.url, 'spec');
    expect(await again.get('survives')).toBe('yes');
    await again.quit();
  });

  it('answers on a unix socket only its own user may open, the same store as its port', async () => {
    expect(redis.socket).toBe(join(dir, 'redis.sock'));
    expect(statSync(redis.socket!).mode & 0o777).toBe(0o700);
    const bySocket = createRedis(redis.socket!, 'spec');
    const byPort = createRedis(redis.url, 'spec');
    await bySocket.set('over-the-socket', 'yes');
    expect(await byPort.get('over-the-socket')).toBe('yes');
    await Promise.all([bySocket.quit(), byPort.quit()]);
  });

  it('keeps to its port when the data dir is too deep for a socket path', async () => {
    const deep = join(dir, 'd'.repeat(120));
    const other = await startEmbeddedRedis({ dir: deep, appendOnly: false });
    try {
      expect(other.socket).toBeUndefined();
      const client = createRedis(other.url, 'spec');
      expect(await client.ping()).toBe('PONG');
      await client.quit();
    } finally {
      await other.stop();
    }
  });

  it('refuses a Redis that may evict keys, naming the policy and the fix', async () => {
    const client = createRedis(redis.url, 'spec');
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await expect(assertNoEviction(client)).rejects.toThrow(RedisEvictionPolicyError);
      await expect(assertNoEviction(client)).rejects.toThrow('"allkeys-lru"');
      await expect(assertNoEviction(client)).rejects.toThrow('maxmemory-policy noeviction');
    } finally {
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      await client.quit();
    }
  });

  it('keeps a finding-sized hash compact, and advises the setting to a Redis that does not', async () => {
    const client = createRedis(redis.url, 'spec');
    try {
      expect(await client.config('GET', 'hash-max-listpack-value')).toEqual(['hash-max-listpack-value', HASH_MAX_LISTPACK_VALUE]);
      await client.hset('finding-like', { state: 'open', data: JSON.stringify({ title: 'x'.repeat(3000) }) });
      expect(await client.object('ENCODING', 'finding-like')).toBe('listpack');
      await expect(redisMemoryAdvice(client)).resolves.toBeUndefined();
      await client.config('SET', 'hash-max-listpack-value', '64');
      const advice = await redisMemoryAdvice(client);
      expect(advice).toContain('hash-max-listpack-value is 64');
      expect(advice).toContain(`"hash-max-listpack-value ${HASH_MAX_LISTPACK_VALUE}"`);
    } finally {
      await client.config('SET', 'hash-max-listpack-value', HASH_MAX_LISTPACK_VALUE);
      await client.quit();
    }
  });

  it('says how to get Redis when no binary is there', async () => {
    const start = startEmbeddedRedis({ dir, binary: 'redis-server-that-does-not-exist' });
    await expect(start).rejects.toThrow(RedisBinaryMissing);
    await expect(start).rejects.toThrow(/apt-get install redis-server.*docker compose up -d redis/s);
  });
});
