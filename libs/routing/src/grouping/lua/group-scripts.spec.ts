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
  const flushKeys = (id: string, seq: number) => [
    group(id),
    `${group(id)}:pending`,
    `${group(id)}:open`,
    `${group(id)}:outcome:${seq}`,
    `${base}:index`,
    `${group(id)}:pending:records`,
    `${group(id)}:outcome:${seq}:records`,
  ];

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
      7,
      group('g1'),
      `${group('g1')}:pending`,
      `${group('g1')}:pending:records`,
      group('g2'),
      `${group('g2')}:pending`,
      `${group('g2')}:pending:records`,
      `${base}:index`,
      '1000',
      ...['g1', 'root', '{"repo":"web"}', '30000', '300000', '2', 'fp1', 'new|evt-1|batch|high', finding('fp1'), 'fp2', 'new|evt-1|batch|low', finding('fp2')],
      ...['g2', 'fixable', '{}', '0', '300000', '1', 'fp3', 'resolved||batch|high', finding('fp3')],
    );
    expect(reply).toEqual([
      ['g1', 'root', 1, 31_000],
      ['g2', 'fixable', 1, 1_000],
    ]);
    expect(await redis.hgetall(`${group('g1')}:pending`)).toEqual({ fp1: 'new|evt-1|batch|high', fp2: 'new|evt-1|batch|low' });
    expect(await redis.hgetall(`${group('g1')}:pending:records`)).toEqual({ fp1: finding('fp1'), fp2: finding('fp2') });
    expect(await redis.hmget(group('g1'), 'route', 'labels', 'seq', 'flushAt', 'born')).toEqual(['root', '{"repo":"web"}', '1', '31000', '1000']);
    expect(await redis.zrange(`${base}:index`, 0, -1)).toEqual(['g1', 'g2']);
  });

  it('flush-group: folds window seq into what the group told, keeps the outcome for a retry, answers "" for a stale window', async () => {
    const raw = (await redis.eval(flush, 7, ...flushKeys('g1', 1), '1', '31000', '3600000', '86400000', 'g1')) as string;
    const outcome = JSON.parse(raw);
    expect(outcome.notify).toBe(true);
    expect(outcome.labels).toEqual({ repo: 'web' });
    // The records are named, not copied: the window's record hash is now the outcome's.
    expect(outcome.changes.new).toEqual([]);
    expect(outcome.refs.new.sort()).toEqual(['fp1', 'fp2']);
    expect(await redis.hgetall(`${group('g1')}:outcome:1:records`)).toEqual({ fp1: finding('fp1'), fp2: finding('fp2') });
    expect(await redis.pttl(`${group('g1')}:outcome:1:records`)).toBeGreaterThan(86_000_000);
    expect(await redis.exists(`${group('g1')}:pending:records`)).toBe(0);
    expect(outcome.events).toEqual(['evt-1']);
    expect(outcome.born).toBe(1000);
    expect(outcome.routedBy).toEqual([{ event: 'evt-1', cause: 'batch', findings: 2 }]);
    expect(outcome.next).toEqual({ seq: 2, flushAt: 31000 + 3600000 });
    expect(await redis.exists(`${group('g1')}:pending`)).toBe(0);
    // Without records (ARGV[6] unset) the open hash keeps each told finding's severity only.
    expect(await redis.hgetall(`${group('g1')}:open`)).toEqual({ fp1: 'high', fp2: 'low' });

    expect(await redis.eval(flush, 7, ...flushKeys('g1', 1), '1', '99999', '3600000', '86400000', 'g1')).toBe(raw);
    expect(await redis.eval(flush, 7, ...flushKeys('g1', 7), '7', '99999', '3600000', '86400000', 'g1')).toBe('');
  });

  it('flush-group: pending lines of earlier versions, the record inline, are read and their records moved with the window', async () => {
    await redis.hset(group('g3'), 'seq', '1', 'labels', '{}');
    await redis.hset(
      `${group('g3')}:pending`,
      'fp4',
      `new|evt-2|batch|critical|${finding('fp4')}`,
      'fp5',
      `new|evt-2|batch|${finding('fp5')}`,
      'fp6',
      `new|evt-2|${finding('fp6')}`,
    );
    const outcome = JSON.parse((await redis.eval(flush, 7, ...flushKeys('g3', 1), '1', '5000', '3600000', '86400000', 'g3', '1')) as string);
    expect(outcome.refs.new.sort()).toEqual(['fp4', 'fp5', 'fp6']);
    expect(await redis.hgetall(`${group('g3')}:outcome:1:records`)).toEqual({ fp4: finding('fp4'), fp5: finding('fp5'), fp6: finding('fp6') });
    // With records (a route with a destination that shows every open finding) the open hash keeps the JSON.
    expect(await redis.hgetall(`${group('g3')}:open`)).toEqual({ fp4: finding('fp4'), fp5: finding('fp5'), fp6: finding('fp6') });
  });

  it('flush-group: a resolution of a finding never told open sends nothing and arms no repeat', async () => {
    const outcome = JSON.parse((await redis.eval(flush, 7, ...flushKeys('g2', 1), '1', '1000', '3600000', '86400000', 'g2')) as string);
    expect(outcome).toMatchObject({
      notify: false,
      changes: { new: [], regressed: [], resolved: [], open: [], told: { count: 0 } },
      refs: { new: [], regressed: [], resolved: [], open: [] },
      next: null,
    });
  });
});
