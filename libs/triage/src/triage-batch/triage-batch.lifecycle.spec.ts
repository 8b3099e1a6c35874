import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Asset, type Batch, type FindingDraft } from '@klaxon/findings';
import { exceptionSchema } from '@klaxon/platform';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { ExceptionRepository } from '../exceptions/exception.repository';
import { ExceptionStore } from '../exceptions/exception.store';
import { FindingRepository } from '../finding.repository';
import { ReleaseException } from '../release-exception/release-exception.usecase';
import { ReportTimeRepository } from './report-time.repository';
import { imageRepository, TriageBatch } from './triage-batch.usecase';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

function vuln(cve: string, repository: string, d: string, extra: Partial<FindingDraft> = {}): FindingDraft {
  return {
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'report' },
    title: `${cve} in openssl`,
    severity: 'high',
    rule: { id: cve },
    artifact: { registry: 'harbor.example.com', repository, digest: d },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-23T10:00:00Z',
    ...extra,
  };
}

/** A complete scan of one digest, as a parser emits it: findings, the image asset, the scope. */
function scan(repository: string, d: string, cves: string[]): Batch {
  return {
    findings: cves.map((cve) => toFinding(vuln(cve, repository, d))),
    assets: [{ type: 'image', digest: d, repository, registry: 'harbor.example.com', tags: [], labels: {}, observedAt: '2026-11-23T10:00:00Z' }],
    scopes: [{ key: `image:${d}`, kinds: ['vulnerability'] }],
  };
}

function running(repository: string, d: string, name = 'checkout'): Batch {
  const workload: Asset = {
    type: 'workload',
    cluster: 'prod-eu-1',
    namespace: 'prod-shop',
    kind: 'Deployment',
    name,
    labels: {},
    containers: [{ name: 'app', image: `harbor.example.com/${repository}:1.4.2`, digest: d }],
    observedAt: '2026-11-23T10:00:00Z',
  };
  return { findings: [], assets: [workload], scopes: [] };
}

describe('lifecycle per image repository, exceptions and queries against Redis', () => {
  let redis: Redis;
  let prefix: string;
  let findings: FindingRepository;
  let exceptions: ExceptionRepository;
  let triage: TriageBatch;
  let seq = 0;
  const at = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 11, minutes));
  const run = (batch: Batch, minutes: number) => triage.execute(batch, at(minutes), `evt-${++seq}`);
  const fp = (cve: string, repository: string) => toFinding(vuln(cve, repository, digest(1))).fingerprint;
  const stateOf = async (cve: string, repository: string) => (await findings.get(fp(cve, repository)))?.state;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('lifecycle');
    findings = new FindingRepository(redis, prefix);
    exceptions = new ExceptionRepository(redis, prefix);
    triage = new TriageBatch(findings, new ExceptionStore([], exceptions), new ReportTimeRepository(redis, prefix));
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('a rebuild without a CVE resolves it: the older digest stopped being current', async () => {
    await run(scan('shop/web', digest(1), ['CVE-A', 'CVE-B']), 0);
    const rebuilt = await run(scan('shop/web', digest(2), ['CVE-A']), 1);
    expect(rebuilt.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'CVE-B']]);
    expect(await stateOf('CVE-A', 'shop/web')).toBe('open');
    expect((await findings.get(fp('CVE-A', 'shop/web')))?.digests).toEqual([digest(1), digest(2)]);
  });

  it('a finding seen in D1 and D2 stays open while the cluster still runs D1, and resolves once it does not', async () => {
    await run(scan('shop/checkout', digest(11), ['CVE-A', 'CVE-B']), 10);
    await run(running('shop/checkout', digest(11)), 11);
    const d2 = await run(scan('shop/checkout', digest(12), ['CVE-A']), 12);
    expect(d2.counts.resolved).toBe(0);
    expect(await stateOf('CVE-B', 'shop/checkout')).toBe('open');

    const rollout = await run(running('shop/checkout', digest(12)), 13);
    expect(rollout.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'CVE-B']]);
    expect((await findings.get(fp('CVE-B', 'shop/checkout')))?.history.at(-1)?.cause).toMatch(/no current digest of shop\/checkout has it/);
    expect(await stateOf('CVE-A', 'shop/checkout')).toBe('open');
  });

  it('a rescan of an old digest does not make it the newest: the new digest keeps what only it has', async () => {
    await run(scan('shop/cart', digest(3), ['CVE-A']), 20);
    await run(scan('shop/cart', digest(4), ['CVE-A', 'CVE-C']), 21);
    const rescanOld = await run(scan('shop/cart', digest(3), ['CVE-A']), 22);
    expect(rescanOld.counts.resolved).toBe(0);
    expect(await stateOf('CVE-C', 'shop/cart')).toBe('open');
  });

  it('two tools on one digest: one finding with two sources, resolved only when neither tool still reports it', async () => {
    const grype = (cves: string[]): Batch => ({
      findings: cves.map((cve) => toFinding(vuln(cve, 'shop/tools', digest(20), { source: { tool: 'grype', integration: 'report' } }))),
      assets: [],
      scopes: [{ key: `image:${digest(20)}/grype`, kinds: ['vulnerability'] }],
    });
    await run(scan('shop/tools', digest(20), ['CVE-A', 'CVE-B']), 25);
    expect((await run(grype(['CVE-A', 'CVE-B']), 26)).counts).toMatchObject({ new: 0, unchanged: 2 });
    expect((await findings.get(fp('CVE-A', 'shop/tools')))?.sources).toEqual(['grype/report', 'trivy/report']);

    expect((await run(scan('shop/tools', digest(20), ['CVE-A']), 27)).counts.resolved).toBe(0);
    expect(await stateOf('CVE-B', 'shop/tools')).toBe('open');
    const grypeToo = await run(grype(['CVE-A']), 28);
    expect(grypeToo.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'CVE-B']]);
  });

  it('an exception suppresses on sight; when it ends its findings reopen, or move to another exception', async () => {
    const accept = (id: string, match: string[]) =>
      exceptions.put({
        ...exceptionSchema.parse({ id, match, reason: 'accepted in APPSEC-112', owner: 'team-payments', expires: '2027-01-31T00:00:00Z' }),
        origin: 'api',
      });
    await accept('a-openssl-accepted', ['package = openssl', 'image = shop/api']);
    await accept('z-cve-x-accepted', ['rule = CVE-X']);

    const first = await run(scan('shop/api', digest(5), ['CVE-X', 'CVE-Y']), 30);
    expect(first.counts).toMatchObject({ new: 0, suppressed: 2 });
    expect(first.changes.every((c) => c.change === 'suppressed' && c.finding.state === 'suppressed')).toBe(true);
    const record = await findings.get(fp('CVE-Y', 'shop/api'));
    expect(record).toMatchObject({ state: 'suppressed', exception: 'a-openssl-accepted' });
    expect(record?.history[0].cause).toBe('first seen in evt-' + seq + ', covered by exception a-openssl-accepted');

    const store = new ExceptionStore([], exceptions);
    await exceptions.remove('a-openssl-accepted');
    const suppressed = await findings.suppressedBy('a-openssl-accepted');
    expect(suppressed.sort()).toEqual([fp('CVE-X', 'shop/api'), fp('CVE-Y', 'shop/api')].sort());
    const records = await findings.getMany(suppressed);
    const coveredNow = new Map(await Promise.all(records.map(async (r) => [r.fingerprint, (await store.covering(r, at(31)))?.id] as const)));
    const reopened = await findings.release('a-openssl-accepted', coveredNow, at(31), 'exception a-openssl-accepted deleted');
    expect(reopened).toEqual([fp('CVE-Y', 'shop/api')]);
    expect(await findings.get(fp('CVE-X', 'shop/api'))).toMatchObject({ state: 'suppressed', exception: 'z-cve-x-accepted' });
    expect(await findings.get(fp('CVE-Y', 'shop/api'))).toMatchObject({ state: 'open', exception: undefined });
    // Idempotent: a retried release job moves nothing twice.
    expect(await findings.release('a-openssl-accepted', coveredNow, at(31), 'exception a-openssl-accepted deleted')).toEqual([]);

    await exceptions.remove('z-cve-x-accepted');
    const again = await run(scan('shop/api', digest(5), ['CVE-X', 'CVE-Y']), 32);
    expect(again.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['unsuppressed', 'CVE-X']]);
  });

  it('queries by state, kind, severity, image, digest and workload through the indexes, newest first, paginated', async () => {
    await run(
      {
        findings: [
          toFinding(vuln('CVE-Q1', 'shop/query', digest(7), { severity: 'critical' })),
          toFinding(
            vuln('CVE-Q2', 'shop/query', digest(7), {
              severity: 'low',
              workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'query' },
            }),
          ),
        ],
        assets: [],
        scopes: [],
      },
      40,
    );
    await run({ findings: [toFinding(vuln('CVE-Q3', 'shop/query', digest(8), { severity: 'critical' }))], assets: [], scopes: [] }, 41);

    const ids = async (filter: Parameters<FindingRepository['query']>[0], offset = 0, limit = 50) => {
      const page = await findings.query(filter, offset, limit);
      return { total: page.total, ids: (await findings.getMany(page.fingerprints)).map((r) => r.rule.id) };
    };
    expect(await ids({ image: ['shop/query'] })).toEqual({ total: 3, ids: ['CVE-Q3', 'CVE-Q2', 'CVE-Q1'] });
    expect(await ids({ image: ['shop/query'], severity: ['critical'] })).toEqual({ total: 2, ids: ['CVE-Q3', 'CVE-Q1'] });
    expect(await ids({ image: ['shop/query'], severity: ['critical', 'low'] }, 1, 1)).toEqual({ total: 3, ids: ['CVE-Q2'] });
    expect(await ids({ digest: [digest(8)] })).toEqual({ total: 1, ids: ['CVE-Q3'] });
    expect(await ids({ workload: ['prod-shop/query'] })).toEqual({ total: 1, ids: ['CVE-Q2'] });
    expect(await ids({ workload: ['prod-eu-1/prod-shop/Deployment/query'], state: ['open'] })).toEqual({ total: 1, ids: ['CVE-Q2'] });
    expect((await ids({ state: ['open'], kind: ['vulnerability'], image: ['shop/api'] })).ids.sort()).toEqual(['CVE-X', 'CVE-Y']);
    expect((await ids({ state: ['suppressed'] })).total).toBe(0);
    expect((await ids({ state: ['resolved'] })).ids.sort()).toEqual(['CVE-B', 'CVE-B', 'CVE-B']);
  });

  it('a retried rollout job reports the resolutions its first attempt made, so routing still hears of them', async () => {
    await run(scan('shop/basket', digest(31), ['CVE-RA', 'CVE-RB']), 30);
    await run(running('shop/basket', digest(31)), 31);
    await run(scan('shop/basket', digest(32), ['CVE-RA']), 32);
    const rollout = running('shop/basket', digest(32));
    const first = await triage.execute(rollout, at(33), 'evt-rollout');
    // The job failed after triage (enqueueing the route job) and BullMQ runs it again.
    const retried = await triage.execute(rollout, at(34), 'evt-rollout');
    expect(first.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'CVE-RB']]);
    expect(retried.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'CVE-RB']]);
  });

  it('a retried release job routes the findings its first attempt reopened', async () => {
    await exceptions.put({
      ...exceptionSchema.parse({
        id: 'rel-accepted',
        match: ['image = shop/release'],
        reason: 'accepted in APPSEC-113',
        owner: 'team-payments',
        expires: '2027-01-31T00:00:00Z',
      }),
      origin: 'api',
    });
    await run(scan('shop/release', digest(41), ['CVE-RX']), 50);
    await exceptions.remove('rel-accepted');
    const release = new ReleaseException(findings, new ExceptionStore([], exceptions));
    const first = await release.execute('rel-accepted', 'deleted', at(51), 'deleted@2026-11-23T11:51:00.000Z');
    // The route job could not be queued after the findings moved: BullMQ runs the release job again.
    const retried = await release.execute('rel-accepted', 'deleted', at(52), 'deleted@2026-11-23T11:51:00.000Z');
    expect(first.map((c) => [c.change, c.finding.rule.id, c.finding.state])).toEqual([['unsuppressed', 'CVE-RX', 'open']]);
    expect(retried.map((c) => [c.change, c.finding.rule.id, c.finding.state])).toEqual([['unsuppressed', 'CVE-RX', 'open']]);
    expect((await findings.get(fp('CVE-RX', 'shop/release')))?.history.map((h) => h.state)).toEqual(['suppressed', 'open']);
  });

  it.each([
    ['harbor.example.com/shop/checkout:1.4.2', 'shop/checkout'],
    ['harbor.example.com:443/shop/checkout@sha256:abc', 'shop/checkout'],
    ['localhost/app:dev', 'app'],
    ['library/alpine:3.20', 'library/alpine'],
  ])('reads the image repository of %s', (ref, expected) => {
    expect(imageRepository(ref)).toBe(expected);
  });

  it('reports of one scope apply in report-time order: an older one re-posted after a rescan is recorded and changes no state', async () => {
    const made = (batch: Batch, reportedAt: string): Batch => ({ ...batch, scopes: batch.scopes.map((s) => ({ ...s, reportedAt })) });
    const first = made(scan('shop/report-time', digest(40), ['CVE-A', 'CVE-B']), '2026-11-23T09:58:31.402715372Z');
    const rescan = made(scan('shop/report-time', digest(40), ['CVE-A']), '2026-11-24T06:00:12Z');
    const stale = made(scan('shop/report-time', digest(40), ['CVE-A', 'CVE-B', 'CVE-D']), '2026-11-23T08:00:00Z');
    await run(first, 50);
    expect((await run(rescan, 51)).changes.map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'CVE-B']]);

    const again = await run(first, 52);
    expect(again.changes).toEqual([]);
    expect(again.counts).toMatchObject({ olderReport: 2, new: 0, regressed: 0, resolved: 0 });
    expect(await stateOf('CVE-B', 'shop/report-time')).toBe('resolved');
    expect(await stateOf('CVE-A', 'shop/report-time')).toBe('open');

    // What only the older report names is recorded, resolved: the newer report no longer has it.
    expect((await run(stale, 53)).changes).toEqual([]);
    const d = await findings.get(toFinding(vuln('CVE-D', 'shop/report-time', digest(40))).fingerprint);
    expect(d?.state).toBe('resolved');
    expect(d?.history.at(-1)?.cause).toMatch(/a report older than the newest applied/);
  });
});
