import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { lifecycleKeys } from '../finding.repository';

const lua = (name: string) => readFileSync(resolve(__dirname, `${name}.lua`), 'utf8');
const prelude = lua('finding-prelude');
const upsert = prelude + lua('upsert-findings');
const resolveScope = prelude + lua('resolve-scope');
const recordRunning = prelude + lua('record-running');
const release = prelude + lua('release-suppressed');
const setDerived = lua('set-derived');
const query = lua('query-findings');
const NOW = '2026-11-23T10:00:00.000Z';

describe('the finding scripts on their KEYS and ARGV', () => {
  let redis: Redis;
  let prefix: string;
  let b: string;
  /** The KEYS of finding-prelude.lua, in its order. */
  let keys: string[];
  const run = (script: string, ...argv: string[]) => redis.eval(script, keys.length, ...keys, ...argv) as Promise<string[]>;
  /** ARGV of one finding for upsert-findings.lua. */
  const item = (fp: string, { exception = '', digest = '', score = '10', signature = '' } = {}) => [
    fp,
    `{"fingerprint":"${fp}"}`,
    'trivy/report',
    digest,
    '',
    exception,
    'kind:vulnerability\nseverity:high',
    digest ? `digest:${digest}` : '',
    score,
    signature,
  ];
  const state = (fp: string) => redis.hget(`${b}:finding:${fp}`, 'state');

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('findings-lua');
    b = `${prefix}:{findings}`;
    keys = lifecycleKeys(b);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('upsert-findings: stores each finding with its indexes and answers its change; the same cause again answers the same', async () => {
    expect(await run(upsert, NOW, '1000', 'evt-1', '50', ...item('fp-a', { score: '42' }), ...item('fp-b', { exception: 'exc-1' }))).toEqual([
      'new',
      'suppressed',
    ]);
    expect(await redis.hmget(`${b}:finding:fp-a`, 'state', 'occurrences', 'firstSeen')).toEqual(['open', '1', NOW]);
    expect(await redis.smembers(`${b}:idx:state:open`)).toEqual(['fp-a']);
    expect(await redis.smembers(`${b}:idx:exception:exc-1`)).toEqual(['fp-b']);
    expect((await redis.smembers(`${b}:idx:severity:high`)).sort()).toEqual(['fp-a', 'fp-b']);
    expect(await redis.zscore(`${b}:findings:risk`, 'fp-a')).toBe('42');
    expect(await redis.zscore(`${b}:findings:seen`, 'fp-a')).toBe('1000');
    // One key per finding: its history and member lists are fields of its hash.
    expect(await redis.hget(`${b}:finding:fp-a`, 'sources')).toBe('["trivy\\/report"]');
    // First seen open, its history is one entry that firstSeen and firstCause imply; first seen suppressed, it is written.
    expect(await redis.hmget(`${b}:finding:fp-a`, 'history', 'firstCause')).toEqual([null, 'evt-1']);
    expect(JSON.parse((await redis.hget(`${b}:finding:fp-b`, 'history'))!)).toEqual([
      { at: NOW, state: 'suppressed', cause: 'first seen in evt-1, covered by exception exc-1' },
    ]);
    expect(await redis.keys(`${b}:finding:fp-a:*`)).toEqual([]);
    expect(await run(upsert, NOW, '1000', 'evt-1', '50', ...item('fp-a'))).toEqual(['new']);
    expect(await run(upsert, NOW, '2000', 'evt-2', '50', ...item('fp-a'))).toEqual(['unchanged']);
  });

  it('writes the implied first history entry out when a finding first changes state, by a report or by a scope', async () => {
    const history = async (fp: string) => {
      const [stored, firstCause] = await redis.hmget(`${b}:finding:${fp}`, 'history', 'firstCause');
      return { history: stored && JSON.parse(stored), firstCause };
    };
    const first = (evt: string) => ({ at: NOW, state: 'open', cause: `first seen in ${evt}` });
    const LATER = '2026-11-24T10:00:00.000Z';
    await run(upsert, NOW, '1000', 'evt-h1', '50', ...item('fp-h'), ...item('fp-i'));
    // Seen again unchanged: nothing is written out.
    expect(await run(upsert, LATER, '2000', 'evt-h2', '50', ...item('fp-h'))).toEqual(['unchanged']);
    expect(await history('fp-h')).toEqual({ history: null, firstCause: 'evt-h1' });
    // Resolved by its scope (the prelude's history), then seen again (the upsert's).
    await run(resolveScope, 'image:h', LATER, '3000', 'evt-h3', '50', '', '', 'fp-h');
    expect(await run(resolveScope, 'image:h', LATER, '4000', 'evt-h4', '50', '', '')).toEqual(['fp-h']);
    expect(await history('fp-h')).toEqual({ history: [first('evt-h1'), { at: LATER, state: 'resolved', cause: expect.any(String) }], firstCause: null });
    expect(await run(upsert, LATER, '5000', 'evt-h5', '50', ...item('fp-h'))).toEqual(['regressed']);
    expect((await history('fp-h')).history.map((h: { state: string }) => h.state)).toEqual(['open', 'resolved', 'open']);
    // Covered by an exception at its next report.
    expect(await run(upsert, LATER, '6000', 'evt-h6', '50', ...item('fp-i', { exception: 'exc-h' }))).toEqual(['suppressed']);
    expect(await history('fp-i')).toEqual({
      history: [first('evt-h1'), { at: LATER, state: 'suppressed', cause: 'covered by exception exc-h when seen in evt-h6' }],
      firstCause: null,
    });
  });

  it('upsert-findings: keeps an exception as a field only while one covers the finding, and drops the empty one earlier versions wrote', async () => {
    const has = (fp: string) => redis.hexists(`${b}:finding:${fp}`, 'exception');
    expect(await run(upsert, NOW, '1000', 'evt-e1', '50', ...item('fp-e'), ...item('fp-f', { exception: 'exc-9' }))).toEqual(['new', 'suppressed']);
    expect(await has('fp-e')).toBe(0);
    expect(await redis.hget(`${b}:finding:fp-f`, 'exception')).toBe('exc-9');
    expect(await run(upsert, NOW, '2000', 'evt-e2', '50', ...item('fp-f'))).toEqual(['unsuppressed']);
    expect(await has('fp-f')).toBe(0);
    expect(await redis.smembers(`${b}:idx:exception:exc-9`)).toEqual([]);
    // As an earlier version left a finding: an empty exception field. Its next report drops it, and so does its resolution.
    await redis.hset(`${b}:finding:fp-e`, 'exception', '');
    expect(await run(upsert, NOW, '3000', 'evt-e3', '50', ...item('fp-e'))).toEqual(['unchanged']);
    expect(await has('fp-e')).toBe(0);
    await redis.hset(`${b}:finding:fp-e`, 'exception', '');
    await run(resolveScope, 'image:e', NOW, '4000', 'evt-e4', '50', '', '', 'fp-e');
    expect(await run(resolveScope, 'image:e', NOW, '5000', 'evt-e5', '50', '', '')).toEqual(['fp-e']);
    expect(await redis.hmget(`${b}:finding:fp-e`, 'state', 'exception')).toEqual(['resolved', null]);
  });

  it("upsert-findings: reads a routing signature stored with its link's missing last parts as nulls as the same signature", async () => {
    const sig = (fp: string) => redis.hget(`${b}:finding:${fp}`, 'sig');
    await run(upsert, NOW, '1000', 'evt-s1', '50', ...item('fp-s', { signature: 'root|[]' }), ...item('fp-t', { signature: 'root|["acme/shop"]' }));
    // As earlier versions wrote them.
    await redis.hset(`${b}:finding:fp-s`, 'sig', 'root|[null,null,null,null,null]');
    await redis.hset(`${b}:finding:fp-t`, 'sig', 'root|["acme/shop",null,null,null,null]');
    expect(
      await run(upsert, NOW, '2000', 'evt-s2', '50', ...item('fp-s', { signature: 'root|[]' }), ...item('fp-t', { signature: 'root|["acme/shop"]' })),
    ).toEqual(['unchanged', 'unchanged']);
    expect(await sig('fp-s')).toBe('root|[]');
    // A signature that did change is an update, whichever way it was stored.
    await redis.hset(`${b}:finding:fp-s`, 'sig', 'root|[null,null,null,null,null]');
    await redis.hset(`${b}:finding:fp-t`, 'sig', 'root|["acme/shop",null,null,null,null]');
    expect(
      await run(
        upsert,
        NOW,
        '3000',
        'evt-s3',
        '50',
        ...item('fp-s', { signature: 'root,pager|[]' }),
        ...item('fp-t', { signature: 'root|["acme/shop",null,null,null,"sha256:d"]' }),
      ),
    ).toEqual(['updated', 'updated']);
  });

  it('resolve-scope: replaces the scope and resolves what it no longer has, answering the same to a retried cause', async () => {
    expect(await run(resolveScope, 'image:d1', NOW, '1000', 'evt-1', '50', '', '', 'fp-a', 'fp-b')).toEqual([]);
    expect(await run(resolveScope, 'image:d1', NOW, '3000', 'evt-3', '50', '', '', 'fp-b')).toEqual(['fp-a']);
    expect(await state('fp-a')).toBe('resolved');
    expect(await redis.hkeys(`${b}:scope:image:d1`)).toEqual(['fp-b']);
    expect(await run(resolveScope, 'image:d1', NOW, '3000', 'evt-3', '50', '', '', 'fp-b')).toEqual(['fp-a']);
  });

  it('resolve-scope: keeps a scope of up to 128 findings as a hash (one listpack), a larger one as a set, and reads either, or one an earlier version wrote', async () => {
    const fps = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `fp-${tag}-${i}`);
    const key = `${b}:scope:image:big`;
    const big = fps(129, 'big');
    await run(upsert, NOW, '1000', 'evt-big', '50', ...big.flatMap((fp) => item(fp)));
    expect(await run(resolveScope, 'image:big', NOW, '1000', 'evt-big', '50', '', '', ...big)).toEqual([]);
    expect(await redis.type(key)).toBe('set');
    expect(await redis.scard(key)).toBe(129);
    // Down to 128: a hash, and the one it no longer has resolves.
    expect(await run(resolveScope, 'image:big', NOW, '2000', 'evt-big-2', '50', '', '', ...big.slice(1))).toEqual([big[0]]);
    expect(await redis.type(key)).toBe('hash');
    expect(await redis.object('ENCODING', key)).toBe('listpack');
    expect(await redis.hlen(key)).toBe(128);
    expect(await run(resolveScope, 'image:big', NOW, '3000', 'evt-big-3', '50', '', '', ...big.slice(2))).toEqual([big[1]]);
    // A scope an earlier version wrote: a set, whatever its size.
    await redis.del(key);
    await redis.sadd(key, ...big.slice(2, 4));
    expect(await run(resolveScope, 'image:big', NOW, '4000', 'evt-big-4', '50', '', '', big[3])).toEqual([big[2]]);
    expect(await redis.hkeys(key)).toEqual([big[3]]);
    // What earlier versions kept as a scope's last answer, under '<scope key>:last', is no scope; a scope so named is.
    await redis.hset(`${b}:scope:image:big:last`, 'cause', 'evt-old', 'resolved', '[]');
    expect(await run(resolveScope, 'image:big:last', NOW, '5000', 'evt-last', '50', '', '', big[3])).toEqual([]);
    expect(await redis.hgetall(`${b}:scope:image:big:last`)).toEqual({ [big[3]]: '' });
    expect(await run(resolveScope, 'image:big:last', NOW, '6000', 'evt-last-2', '50', '', '', big[3])).toEqual([]);
    expect(await redis.hgetall(`${b}:scope:image:big:last`)).toEqual({ [big[3]]: '' });
  });

  it('record-running: a digest still running keeps its findings open; when its slot goes, they resolve', async () => {
    await run(upsert, NOW, '1000', 'evt-10', '50', ...item('fp-c', { digest: 'd1' }));
    expect(await run(resolveScope, 'image:d1/grype', NOW, '1000', 'evt-10', '50', 'shop/api', 'd1', 'fp-c')).toEqual([]);
    expect(await run(recordRunning, NOW, '1500', 'evt-11', '50', 'shop/api', 'prod/shop/Deployment/api/app', 'd1')).toEqual([]);
    // A newer digest without fp-c: d1 still runs, so fp-c stays open.
    expect(await run(resolveScope, 'image:d2/grype', NOW, '2000', 'evt-12', '50', 'shop/api', 'd2')).toEqual([]);
    expect(await redis.smembers(`${b}:image:shop/api:current`)).toEqual(expect.arrayContaining(['d1', 'd2']));
    expect(await run(recordRunning, NOW, '2500', 'evt-13', '50', 'shop/api', 'prod/shop/Deployment/api/app', '')).toEqual(['fp-c']);
    expect(await state('fp-c')).toBe('resolved');
    expect(await run(recordRunning, NOW, '2500', 'evt-13', '50', 'shop/api', 'prod/shop/Deployment/api/app', '')).toEqual(['fp-c']);
  });

  it('release-suppressed: reopens what no exception covers, moves the rest, and keeps its answer for the same end', async () => {
    await run(upsert, NOW, '1000', 'evt-20', '50', ...item('fp-d', { exception: 'exc-1' }));
    expect(await run(release, NOW, 'exc-1 ended', '50', 'exc-1', 'end-1', '60', 'fp-b', '', 'fp-d', 'exc-2')).toEqual(['fp-b']);
    expect(await state('fp-b')).toBe('open');
    expect(await redis.hmget(`${b}:finding:fp-d`, 'state', 'exception')).toEqual(['suppressed', 'exc-2']);
    expect(await redis.smembers(`${b}:idx:exception:exc-2`)).toEqual(['fp-d']);
    expect(await redis.ttl(`${b}:release:exc-1`)).toBeGreaterThan(0);
    expect(await run(release, NOW, 'exc-1 ended', '50', 'exc-1', 'end-1', '60', 'fp-b', '')).toEqual(['fp-b']);
  });

  it('set-derived: writes derived fields and the risk of stored findings only, answering 0', async () => {
    const derived = '{"risk":{"score":80,"reasons":["+20 internet-facing"]}}';
    expect(
      await redis.eval(setDerived, 3, `${b}:findings:risk`, `${b}:finding:fp-a`, `${b}:finding:fp-none`, 'fp-a', derived, '80', 'fp-none', derived, '80'),
    ).toBe(0);
    expect(await redis.hmget(`${b}:finding:fp-a`, 'derived', 'score')).toEqual([derived, '80']);
    expect(await redis.zscore(`${b}:findings:risk`, 'fp-a')).toBe('80');
    expect(await redis.exists(`${b}:finding:fp-none`)).toBe(0);
    expect(await redis.zscore(`${b}:findings:risk`, 'fp-none')).toBeNull();
    // A new report of it replaces what the rescore derived, leaving no field behind.
    await run(upsert, NOW, '2000', 'evt-derived', '50', ...item('fp-a', { score: '42' }));
    expect(await redis.hexists(`${b}:finding:fp-a`, 'derived')).toBe(0);
    expect(await redis.zscore(`${b}:findings:risk`, 'fp-a')).toBe('42');
  });

  it('query-findings: intersects the filters (each an OR of index sets) and a minimum risk, most recently seen first', async () => {
    const q = `${prefix}:{q}`;
    await redis.zadd(`${q}:seen`, 1, 'x', 2, 'y', 3, 'z');
    await redis.zadd(`${q}:risk`, 90, 'x', 10, 'y', 50, 'z');
    await redis.sadd(`${q}:idx:state:open`, 'x', 'z');
    await redis.sadd(`${q}:idx:severity:high`, 'x');
    await redis.sadd(`${q}:idx:severity:critical`, 'z', 'y');
    const scratch = [`${q}:query:result`, `${q}:query:risk`];
    type Filter = string[] | { plain?: string[]; candidates: string[]; exact: string[] };
    const sets = (f: Filter) => (Array.isArray(f) ? { plain: f, candidates: [], exact: [] } : { plain: [], ...f });
    const ask = (offset: number, limit: number, minRisk: string, filters: Filter[]) => {
      const all = filters.map(sets);
      const names = all.flatMap((f) => [...f.plain, ...f.candidates]);
      return redis.eval(
        query,
        5 + filters.length + names.length,
        `${q}:seen`,
        `${q}:risk`,
        ...scratch,
        `${q}:finding:`,
        ...filters.map((_, f) => `${q}:query:union:${f + 1}`),
        ...names.map((name) => `${q}:idx:${name}`),
        String(offset),
        String(limit),
        minRisk,
        ...all.flatMap((f) => [String(f.plain.length), String(f.candidates.length), String(f.exact.length), ...f.exact]),
      );
    };
    expect(await ask(0, 2, '', [])).toEqual([3, ['z', 'y']]);
    expect(await ask(0, 10, '', [['state:open'], ['severity:high', 'severity:critical']])).toEqual([2, ['z', 'x']]);
    expect(await ask(0, 10, '50', [['severity:high', 'severity:critical']])).toEqual([2, ['z', 'x']]);
    expect(await ask(1, 10, '', [['severity:critical']])).toEqual([2, ['y']]);
    // Candidates: the findings under `<namespace>/<name>` reported on the exact workload asked for, as the
    // hash's `workloads` says or, for a finding an earlier version stored, its `:workloads` set.
    await redis.sadd(`${q}:idx:workload:shop/api`, 'x', 'y', 'z');
    await redis.hset(`${q}:finding:x`, 'workloads', JSON.stringify(['shop/Deployment/api']));
    await redis.hset(`${q}:finding:z`, 'workloads', JSON.stringify(['prod-eu-1/shop/Deployment/api', 'shop/Deployment/web']));
    await redis.sadd(`${q}:finding:y:workloads`, 'prod-eu-1/shop/Deployment/api');
    const eu = 'prod-eu-1/shop/Deployment/api';
    expect(await ask(0, 10, '', [{ candidates: ['workload:shop/api'], exact: [eu] }])).toEqual([2, ['z', 'y']]);
    expect(await ask(0, 10, '', [{ candidates: ['workload:shop/api'], exact: ['shop/Deployment/api'] }])).toEqual([1, ['x']]);
    expect(await ask(0, 10, '', [{ candidates: ['workload:shop/api'], exact: ['shop/StatefulSet/api'] }])).toEqual([0, []]);
    // Plain sets and checked candidates in one OR, ANDed with another filter.
    expect(await ask(0, 10, '', [['state:open'], { plain: ['severity:critical'], candidates: ['workload:shop/api'], exact: ['shop/Deployment/api'] }])).toEqual(
      [2, ['z', 'x']],
    );
    // A workload's index as this version writes it, a hash of fingerprints, alone and beside sets.
    await redis.hset(`${q}:idx:workload:shop/web`, 'y', '', 'x', '');
    expect(await ask(0, 10, '', [['workload:shop/web']])).toEqual([2, ['y', 'x']]);
    expect(await ask(0, 10, '', [['state:open'], ['workload:shop/web']])).toEqual([1, ['x']]);
    expect(await ask(0, 10, '', [['severity:high', 'workload:shop/web', 'workload:none']])).toEqual([2, ['y', 'x']]);
    // Candidates in a hash and in a set, each checked once: y is in both, and its hash now says where it was reported.
    await redis.hset(`${q}:finding:y`, 'workloads', JSON.stringify(['shop/Deployment/web']));
    expect(await ask(0, 10, '', [{ candidates: ['workload:shop/web', 'workload:shop/api'], exact: ['shop/Deployment/web', eu] }])).toEqual([2, ['z', 'y']]);
    expect(await redis.exists(...scratch, `${q}:query:union:1`, `${q}:query:union:2`, `${q}:query:union:3`)).toBe(0);
  });
});
