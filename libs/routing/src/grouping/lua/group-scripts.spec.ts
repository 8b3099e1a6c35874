import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../../test/support/redis';

const add = readFileSync(resolve(__dirname, 'add-to-groups.lua'), 'utf8');
const flush = readFileSync(resolve(__dirname, 'flush-group.lua'), 'utf8');
const finding = (fp: string) => `{"fingerprint":"${fp}","labels":{}}`;

describe('the group scripts on their KEYS and ARGV', () => {
  let redis: Redis;
  let prefix: string;
  let base: string;
  const group = (id: string) => `${base}:group:${id}`;
  const flushKeys = (id: string, seq: number) => [group(id), `${group(id)}:pending`, `${group(id)}:open`, `${group(id)}:outcome:${seq}`, `${base}:index`];

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('groups-lua');
    base = `${prefix}:{groups}`;
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('add-to-groups: pends each change in its group and arms a timer per group, answering {id, route, seq, flushAt}', async () => {
    const reply = await redis.eval(
      add,
      5,
      group('g1'),
      `${group('g1')}:pending`,
      group('g2'),
      `${group('g2')}:pending`,
      `${base}:index`,
      '1000',
      ...['g1', 'root', '{"repo":"web"}', '30000', '300000', '2', 'fp1', `new|evt-1|batch|${finding('fp1')}`, 'fp2', `new|evt-1|batch|${finding('fp2')}`],
      ...['g2', 'fixable', '{}', '0', '300000', '1', 'fp3', `resolved||batch|high|${finding('fp3')}`],
    );
    expect(reply).toEqual([
      ['g1', 'root', 1, 31_000],
      ['g2', 'fixable', 1, 1_000],
    ]);
    expect(Object.keys(await redis.hgetall(`${group('g1')}:pending`)).sort()).toEqual(['fp1', 'fp2']);
    expect(await redis.hmget(group('g1'), 'route', 'labels', 'seq', 'flushAt', 'born')).toEqual(['root', '{"repo":"web"}', '1', '31000', '1000']);
    expect(await redis.zrange(`${base}:index`, 0, -1)).toEqual(['g1', 'g2']);
  });

  it('flush-group: folds window seq into what the group told, keeps the outcome for a retry, answers "" for a stale window', async () => {
    const raw = (await redis.eval(flush, 5, ...flushKeys('g1', 1), '1', '31000', '3600000', '86400000', 'g1')) as string;
    const outcome = JSON.parse(raw);
    expect(outcome.notify).toBe(true);
    expect(outcome.labels).toEqual({ repo: 'web' });
    expect(outcome.changes.new.map((f: { fingerprint: string }) => f.fingerprint).sort()).toEqual(['fp1', 'fp2']);
    expect(outcome.events).toEqual(['evt-1']);
    expect(outcome.born).toBe(1000);
    expect(outcome.routedBy).toEqual([{ event: 'evt-1', cause: 'batch', findings: 2 }]);
    expect(outcome.next).toEqual({ seq: 2, flushAt: 31000 + 3600000 });
    expect(await redis.exists(`${group('g1')}:pending`)).toBe(0);
    // Without records (ARGV[6] unset) the open hash keeps each told finding's severity only.
    expect(await redis.hgetall(`${group('g1')}:open`)).toEqual({ fp1: 'info', fp2: 'info' });

    expect(await redis.eval(flush, 5, ...flushKeys('g1', 1), '1', '99999', '3600000', '86400000', 'g1')).toBe(raw);
    expect(await redis.eval(flush, 5, ...flushKeys('g1', 7), '7', '99999', '3600000', '86400000', 'g1')).toBe('');
  });

  it('flush-group: a resolution of a finding never told open sends nothing and arms no repeat', async () => {
    const outcome = JSON.parse((await redis.eval(flush, 5, ...flushKeys('g2', 1), '1', '1000', '3600000', '86400000', 'g2')) as string);
    expect(outcome).toMatchObject({ notify: false, changes: { new: [], regressed: [], resolved: [], open: [], told: { count: 0 } }, next: null });
  });
});
