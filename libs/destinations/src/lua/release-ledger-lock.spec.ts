import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';

const script = readFileSync(resolve(__dirname, 'release-ledger-lock.lua'), 'utf8');

describe('release-ledger-lock.lua: KEYS[1] the lock, ARGV[1] the holder token', () => {
  let redis: Redis;
  let prefix: string;
  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('ledger-lock-lua');
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('deletes the lock for its holder and answers 1', async () => {
    const lock = `${prefix}:ledger-lock:slack-sec:shop/web`;
    await redis.set(lock, 'holder-a');
    expect(await redis.eval(script, 1, lock, 'holder-a')).toBe(1);
    expect(await redis.exists(lock)).toBe(0);
  });

  it('leaves a lock someone else holds and answers 0', async () => {
    const lock = `${prefix}:ledger-lock:jira:shop/web`;
    await redis.set(lock, 'holder-b');
    expect(await redis.eval(script, 1, lock, 'holder-a')).toBe(0);
    expect(await redis.get(lock)).toBe('holder-b');
    expect(await redis.eval(script, 1, `${prefix}:ledger-lock:none`, 'holder-a')).toBe(0);
  });
});
