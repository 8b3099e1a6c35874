import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../../test/support/redis';

const script = readFileSync(resolve(__dirname, 'commit-suggestions.lua'), 'utf8');

describe('commit-suggestions.lua: KEYS marker, order, then per suggestion its hash and repo set', () => {
  let redis: Redis;
  let base: string;
  let prefix: string;
  const commit = (event: string, outcome: string, writes: [id: string, version: number, repo: string][]) =>
    redis.eval(
      script,
      2 + 2 * writes.length,
      `${base}:feedback:event:${event}`,
      `${base}:suggestions`,
      ...writes.flatMap(([id, , repo]) => [`${base}:suggestion:${id}`, `${base}:suggestions:repo:${repo}`]),
      '60',
      outcome,
      ...writes.flatMap(([id, version, repo]) => [id, String(version), `{"id":"${id}"}`, '1000', repo]),
    );

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('suggestions-lua');
    base = `${prefix}:{suggestions}`;
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('writes every suggestion, orders it, files it under its repo, and marks the event with a TTL', async () => {
    expect(
      await commit('e1', '{"touched":[]}', [
        ['s1', 0, 'shop/web'],
        ['s2', 0, ''],
      ]),
    ).toEqual(['ok', '']);
    expect(await redis.hgetall(`${base}:suggestion:s1`)).toEqual({ data: '{"id":"s1"}', version: '1' });
    expect(await redis.zrange(`${base}:suggestions`, 0, -1)).toEqual(['s1', 's2']);
    expect(await redis.smembers(`${base}:suggestions:repo:shop/web`)).toEqual(['s1']);
    expect(await redis.exists(`${base}:suggestions:repo:`)).toBe(0);
    expect(await redis.ttl(`${base}:feedback:event:e1`)).toBeGreaterThan(0);
  });

  it('answers the recorded outcome for an event already committed, writing nothing', async () => {
    expect(await commit('e1', '{"other":true}', [['s1', 1, 'shop/web']])).toEqual(['done', '{"touched":[]}']);
    expect(await redis.hget(`${base}:suggestion:s1`, 'version')).toBe('1');
  });

  it('answers conflict and writes nothing when a version moved since it was read', async () => {
    expect(
      await commit('e2', '{}', [
        ['s3', 0, ''],
        ['s1', 0, 'shop/web'],
      ]),
    ).toEqual(['conflict', '']);
    expect(await redis.exists(`${base}:suggestion:s3`, `${base}:feedback:event:e2`)).toBe(0);
  });
});
