import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFinding, type Finding } from '@klaxon/findings';
import { dropPrefix, testPrefix, testRedis } from '../../../test/support/redis';
import { FindingRepository, workloadKey } from './finding.repository';
import { encodeStoredJson } from './stored-json';

const D1 = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const D2 = 'sha256:2222222222222222222222222222222222222222222222222222222222222222';
const at = (day: number) => new Date(Date.UTC(2026, 10, day, 10));

function vuln(cve: string, digest: string): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'report' },
    title: `${cve} in openssl`,
    severity: 'high',
    rule: { id: cve },
    artifact: { repository: 'shop/api', digest },
    workload: { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'api' },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-01T10:00:00Z',
  });
}

/*
 * Earlier versions kept a finding's history, sources, digests, workloads and accumulated index names
 * in keys beside its hash. Stored data of those versions keeps working without a migration step.
 */
describe('FindingRepository on findings an earlier version stored', () => {
  let redis: Redis;
  let prefix: string;
  let b: string;
  let repo: FindingRepository;
  const sideKeys = (fp: string) => redis.keys(`${b}:finding:${fp}:*`);
  const fps = async (filter: Parameters<FindingRepository['query']>[0]) => (await repo.query(filter, 0, 100)).fingerprints;

  /** Writes a finding as an earlier version did: its hash, five keys beside it, and its index entries. */
  async function storeTheOldWay(f: Finding, state: 'open' | 'resolved') {
    const key = `${b}:finding:${f.fingerprint}`;
    const { state: _state, ...data } = f;
    const seen = at(1).toISOString();
    const workload = 'prod/shop/Deployment/api';
    const ix = ['kind:vulnerability', 'severity:high', 'image:shop/api'];
    const acc = [`digest:${f.artifact!.digest}`, `workload:${workload}`, 'workload:shop/api'];
    await redis
      .multi()
      .hset(key, {
        data: JSON.stringify(data),
        state,
        firstSeen: seen,
        lastSeen: seen,
        occurrences: '1',
        lastCause: 'evt-old',
        lastChange: 'new',
        exception: '',
        ix: ix.join('\n'),
        score: '0',
        ...(state === 'resolved' && { resolvedAt: seen }),
      })
      .rpush(`${key}:history`, JSON.stringify({ at: seen, state: 'open', cause: 'first seen in evt-old' }))
      .sadd(`${key}:sources`, 'trivy/report')
      .sadd(`${key}:digests`, f.artifact!.digest!)
      .sadd(`${key}:workloads`, workload)
      .sadd(`${key}:indexes`, ...acc)
      .sadd(`${b}:idx:state:${state}`, f.fingerprint)
      .exec();
    for (const name of [...ix, ...acc]) await redis.sadd(`${b}:idx:${name}`, f.fingerprint);
    // Earlier versions kept every fingerprint in a set of its own too.
    await redis.sadd(`${b}:findings`, f.fingerprint);
    await redis.zadd(`${b}:findings:seen`, at(1).getTime(), f.fingerprint);
    await redis.zadd(`${b}:findings:risk`, 0, f.fingerprint);
  }

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('findings-upgrade');
    b = `${prefix}:{findings}`;
    repo = new FindingRepository(redis, prefix);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('reads it from its old keys, then folds them into its hash on its next upsert', async () => {
    const f = vuln('CVE-OLD-1', D1);
    await storeTheOldWay(f, 'open');
    const before = await repo.get(f.fingerprint);
    expect(before).toMatchObject({
      state: 'open',
      occurrences: 1,
      sources: ['trivy/report'],
      digests: [D1],
      workloads: ['prod/shop/Deployment/api'],
      history: [{ at: at(1).toISOString(), state: 'open', cause: 'first seen in evt-old' }],
    });

    // Seen again, in a newer digest of the image.
    expect(await repo.upsert([{ finding: vuln('CVE-OLD-1', D2) }], at(2), 'evt-2')).toEqual(['unchanged']);
    expect(await sideKeys(f.fingerprint)).toEqual([]);
    expect(await repo.get(f.fingerprint)).toMatchObject({
      occurrences: 2,
      lastSeen: at(2).toISOString(),
      sources: ['trivy/report'],
      digests: [D1, D2],
      workloads: ['prod/shop/Deployment/api'],
      history: before!.history,
    });
    expect(await fps({ digest: [D1] })).toEqual([f.fingerprint]);
    expect(await fps({ digest: [D2] })).toEqual([f.fingerprint]);
    expect(await fps({ workload: ['shop/api'], state: ['open'] })).toEqual([f.fingerprint]);
  });

  it("reads a report the previous version compressed without the finding's fingerprint and event as context", async () => {
    const f = vuln('CVE-OLD-4', D1);
    expect(await repo.upsert([{ finding: f }], at(1), 'evt-4')).toEqual(['new']);
    const key = `${b}:finding:${f.fingerprint}`;
    const written = (await redis.hgetBuffer(key, 'data'))!;
    expect(written[0], 'this version: LZ4 with the context').toBe(0x03);
    const record = await repo.get(f.fingerprint);
    // As the previous version wrote the same report (format 0x02): the fingerprint and event cost their length.
    const previous = encodeStoredJson(JSON.stringify(f));
    expect(previous.length - written.length).toBeGreaterThanOrEqual(24);
    await redis.hset(key, 'data', previous);
    expect(await repo.get(f.fingerprint)).toEqual(record);
    expect(record).toMatchObject({
      fingerprint: f.fingerprint,
      source: f.source,
      title: f.title,
      // Implied by firstSeen and firstCause, as the hash keeps it until the state changes.
      history: [{ at: at(1).toISOString(), state: 'open', cause: 'first seen in evt-4' }],
    });
  });

  it('folds the keys of a finding whose state changes without a report (its scope resolves it), keeping its history in order', async () => {
    const f = vuln('CVE-OLD-2', D1);
    await storeTheOldWay(f, 'open');
    expect(await repo.resolveScope({ key: 'image:old-2', kinds: ['vulnerability'] }, [f.fingerprint], at(2), 'evt-3')).toEqual([]);
    expect(await repo.resolveScope({ key: 'image:old-2', kinds: ['vulnerability'] }, [], at(3), 'evt-4')).toEqual([f.fingerprint]);
    expect(await sideKeys(f.fingerprint)).toEqual([]);
    const record = await repo.get(f.fingerprint);
    expect(record?.history.map((h) => h.state)).toEqual(['open', 'resolved']);
    expect(record).toMatchObject({ state: 'resolved', sources: ['trivy/report'], digests: [D1] });
  });

  it('retention removes resolved findings of both layouts with every index entry', async () => {
    const old = vuln('CVE-OLD-3', D1);
    await storeTheOldWay(old, 'resolved');
    const current = vuln('CVE-NEW-3', D2);
    await repo.upsert([{ finding: current }], at(1), 'evt-5');
    await repo.resolveScope({ key: 'image:new-3', kinds: ['vulnerability'] }, [current.fingerprint], at(1), 'evt-5');
    await repo.resolveScope({ key: 'image:new-3', kinds: ['vulnerability'] }, [], at(1), 'evt-6');
    expect((await repo.get(current.fingerprint))?.state).toBe('resolved');
    const stored = await repo.count();

    const removed = await repo.removeResolvedBefore(at(10));
    expect(await repo.count()).toBe(stored - removed.length);
    expect(removed).toEqual(expect.arrayContaining([old.fingerprint, current.fingerprint]));
    // The set of every fingerprint earlier versions kept goes with the first retention run.
    expect(await redis.exists(`${b}:findings`)).toBe(0);
    for (const fp of [old.fingerprint, current.fingerprint]) {
      expect(await redis.keys(`${b}:finding:${fp}*`)).toEqual([]);
      expect(await repo.get(fp)).toBeUndefined();
      expect(await redis.zscore(`${b}:findings:seen`, fp)).toBeNull();
      expect(await redis.zscore(`${b}:findings:risk`, fp)).toBeNull();
    }
    // No index still names either of them (a workload's index is a hash, or a set as earlier versions wrote it).
    for (const key of await redis.keys(`${b}:idx:*`)) {
      const members = (await redis.type(key)) === 'hash' ? await redis.hkeys(key) : await redis.smembers(key);
      expect(members, key).not.toContain(old.fingerprint);
      expect(members, key).not.toContain(current.fingerprint);
    }
  });
  it('keeps a workload index an earlier version wrote as a set: new findings join it, queries and retention read it beside the hashes of this version', async () => {
    const old = vuln('CVE-OLD-6', D1);
    await storeTheOldWay(old, 'open');
    const api = vuln('CVE-NEW-6', D1);
    const web = toFinding({ ...vuln('CVE-WEB-6', D1), workload: { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'web' } });
    await repo.upsert([{ finding: api }, { finding: web }], at(2), 'evt-6a');
    const index = (name: string) => `${b}:idx:workload:${name}`;
    expect(await redis.type(index('shop/api'))).toBe('set');
    expect(await redis.type(index('shop/web'))).toBe('hash');
    expect(await fps({ workload: ['shop/api', 'shop/web'], state: ['open'] })).toEqual(
      expect.arrayContaining([old.fingerprint, api.fingerprint, web.fingerprint]),
    );
    expect(await fps({ workload: ['prod/shop/Deployment/web'] })).toEqual([web.fingerprint]);
    expect(await fps({ workload: ['prod/shop/Deployment/api'], state: ['open'] })).toEqual(expect.arrayContaining([old.fingerprint, api.fingerprint]));

    const all = [old, api, web].map((f) => f.fingerprint);
    await repo.resolveScope({ key: 'image:six', kinds: ['vulnerability'] }, all, at(3), 'evt-6b');
    await repo.resolveScope({ key: 'image:six', kinds: ['vulnerability'] }, [], at(3), 'evt-6c');
    expect(await repo.removeResolvedBefore(at(10))).toEqual(expect.arrayContaining(all));
    for (const fp of all) expect(await redis.sismember(index('shop/api'), fp)).toBe(0);
    expect(await redis.exists(index('shop/web'))).toBe(0);
  });
});

describe('FindingRepository: findings by workload, in either spelling', () => {
  let redis: Redis;
  // Each property run stores under a prefix of its own below this one.
  const prefix = testPrefix('by-workload');
  let run = 0;
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  // Workloads named alike across clusters (one with a slash in its name), kinds and namespaces, some
  // with parts unknown, as runtime sensors report them.
  const workload = fc.record(
    {
      cluster: fc.constantFrom('prod-eu-1', 'prod/us'),
      namespace: fc.constantFrom('shop', 'pay'),
      kind: fc.constantFrom('Deployment', 'StatefulSet'),
      name: fc.constantFrom('api', 'web'),
    },
    { requiredKeys: ['name'] },
  );

  it('answers a whole key with the findings reported on that workload, and `<namespace>/<name>` with those of that name in any kind or cluster', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(workload, { minLength: 1, maxLength: 12 }), async (workloads) => {
        const repo = new FindingRepository(redis, `${prefix}:${++run}`);
        const findings = workloads.map((w, i) => toFinding({ ...vuln(`CVE-W${i}`, D1), workload: w }));
        await repo.upsert(
          findings.map((finding) => ({ finding })),
          at(1),
          'evt-w',
        );
        const asked = async (value: string) => (await repo.query({ workload: [value] }, 0, 100)).fingerprints.sort();
        const expected = (match: (w: Finding['workload']) => boolean) =>
          [...new Set(findings.filter((f) => match(f.workload)).map((f) => f.fingerprint))].sort();
        for (const f of findings) {
          const key = workloadKey(f.workload);
          // A whole key of three parts or more names one workload; a shorter one is its own index.
          if (key.split('/').length >= 3) expect(await asked(key)).toEqual(expected((w) => workloadKey(w) === key));
          const { namespace, name } = f.workload!;
          if (namespace) expect(await asked(`${namespace}/${name}`)).toEqual(expected((w) => w?.namespace === namespace && w.name === name));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps one index per workload name, not one per spelling: a hash of its findings, Redis 7.0 keeping a small one compact', async () => {
    const sets = `${prefix}:sets`;
    const repo = new FindingRepository(redis, sets);
    const f = vuln('CVE-S1', D1);
    await repo.upsert([{ finding: f }], at(1), 'evt-s');
    const key = `${sets}:{findings}:idx:workload:shop/api`;
    expect((await redis.keys(`${sets}:{findings}:idx:workload:*`)).sort()).toEqual([key]);
    expect(await redis.hkeys(key)).toEqual([f.fingerprint]);
    expect(await redis.object('ENCODING', key)).toBe('listpack');
  });
});
