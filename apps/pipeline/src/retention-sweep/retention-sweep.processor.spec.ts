import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Batch, type Finding } from '@klaxon/findings';
import { Runtime, createLogger } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { GroupRepository, groupChanges, notificationsOf, routeByPath } from '@klaxon/routing';
import { AssetRepository, ExceptionRepository, ExceptionStore, FindingRepository, TriageBatch } from '@klaxon/triage';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { RetentionSweepProcessor } from './retention-sweep.processor';

const DAY = 86_400_000;
const t0 = Date.UTC(2026, 10, 1, 10, 0, 0);

const config = parseConfig(`
destinations:
  siem: { type: webhook, url: "http://127.0.0.1:9/hook" }
routes:
  to: [siem]
  groupBy: [artifact.repository]
  repeatInterval: 4h
retention:
  resolvedFindings: 30d
  idleGroups: 1d
  deadLetters: 14d
  maxDeadLetters: 2
`);

function vuln(cve: string, repository: string): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'report' },
    title: `${cve} in openssl`,
    severity: 'high',
    rule: { id: cve },
    artifact: { registry: 'harbor.example.com', repository, digest: `sha256:${'1'.padStart(64, '0')}` },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-01T10:00:00Z',
  });
}

function scan(cves: string[]): Batch {
  const digest = `sha256:${'1'.padStart(64, '0')}`;
  return { findings: cves.map((c) => vuln(c, 'shop/api')), assets: [], scopes: [{ key: `image:${digest}`, kinds: ['vulnerability'] }] };
}

describe('the retention sweep', () => {
  let redis: Redis;
  let prefix: string;
  let now = t0;
  let sweep: RetentionSweepProcessor;
  let runtime: Runtime;
  let findings: FindingRepository;
  let groups: GroupRepository;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('retention');
    runtime = new Runtime(config, [], redis, prefix, createLogger({ level: 'silent' }), () => new Date(now));
    findings = new FindingRepository(redis, prefix);
    groups = new GroupRepository(redis, prefix);
    sweep = new RetentionSweepProcessor(runtime, findings, new AssetRepository(redis, prefix), groups);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('removes a finding resolved longer ago than resolvedFindings from every index, keeps the rest', async () => {
    const triage = new TriageBatch(findings, new ExceptionStore([], new ExceptionRepository(redis, prefix)));
    await triage.execute(scan(['CVE-OLD', 'CVE-KEPT']), new Date(t0), 'evt-1');
    await triage.execute(scan(['CVE-KEPT']), new Date(t0 + DAY), 'evt-2');
    const old = vuln('CVE-OLD', 'shop/api').fingerprint;
    const query = async (filter: Parameters<FindingRepository['query']>[0]) => (await findings.query(filter, 0, 10)).fingerprints;
    expect(await query({ state: ['resolved'] })).toEqual([old]);

    now = t0 + 30 * DAY;
    expect((await sweep.execute()).findings).toBe(0);
    now = t0 + 32 * DAY;
    expect((await sweep.execute()).findings).toBe(1);

    expect(await findings.get(old)).toBeUndefined();
    for (const filter of [{ state: ['resolved' as const] }, { image: ['shop/api'] }, { severity: ['high'] }, { digest: [`sha256:${'1'.padStart(64, '0')}`] }]) {
      expect(await query(filter)).not.toContain(old);
    }
    expect(await query({ image: ['shop/api'] })).toEqual([vuln('CVE-KEPT', 'shop/api').fingerprint]);
    expect(await redis.keys(`${prefix}:finding:${old}*`)).toEqual([]);
  });

  it('forgets the scope memberships of a digest that stopped being current once its findings are removed', async () => {
    const triage = new TriageBatch(findings, new ExceptionStore([], new ExceptionRepository(redis, prefix)));
    const digestScan = (n: number, cves: string[]): Batch => {
      const digest = `sha256:${String(n).padStart(64, '0')}`;
      return {
        findings: cves.map((c) => toFinding({ ...vuln(c, 'shop/web'), artifact: { registry: 'harbor.example.com', repository: 'shop/web', digest } })),
        assets: [{ type: 'image', digest, repository: 'shop/web', registry: 'harbor.example.com', tags: [], labels: {}, observedAt: '2026-11-01T10:00:00Z' }],
        scopes: [{ key: `image:${digest}`, kinds: ['vulnerability'] }],
      };
    };
    now = t0 + 33 * DAY;
    await triage.execute(digestScan(7, ['CVE-W1']), new Date(now), 'evt-w1');
    const rebuilt = await triage.execute(digestScan(8, ['CVE-W2']), new Date(now + 1), 'evt-w2');
    expect(rebuilt.changes.filter((c) => c.change === 'resolved')).toHaveLength(1);

    now += 31 * DAY;
    const swept = await sweep.execute();
    expect(swept.digests).toBeGreaterThanOrEqual(1);
    expect(await redis.exists(`${prefix}:{findings}:scope:image:sha256:${String(7).padStart(64, '0')}`)).toBe(0);
    expect(await redis.exists(`${prefix}:{findings}:scope:image:sha256:${String(8).padStart(64, '0')}`)).toBe(1);
  });

  it('removes groups of routes that are gone at once, idle groups after repeatInterval plus idleGroups, never a group with open findings', async () => {
    now = t0 + 40 * DAY;
    const at = new Date(now);
    const [open] = groupChanges(config.routes, [{ change: 'new', finding: vuln('CVE-OPEN', 'shop/open') }]);
    const [idle] = groupChanges(config.routes, [{ change: 'resolved', finding: vuln('CVE-IDLE', 'shop/idle') }]);
    const gone = { ...idle, groupId: 'group-of-a-removed-route', route: 'root/removed' };
    const timers = await groups.add([open, idle, gone], at);
    for (const t of timers.filter((t) => t.groupId !== gone.groupId)) await groups.flush(t.groupId, t.seq, at, 4 * 3_600_000);

    now += DAY + 3_600_000;
    expect((await sweep.execute()).groups).toBe(1);
    expect(await redis.exists(`${prefix}:{groups}:group:${gone.groupId}`)).toBe(0);

    now += 4 * 3_600_000;
    expect((await sweep.execute()).groups).toBe(1);
    expect(await redis.exists(`${prefix}:{groups}:group:${idle.groupId}`)).toBe(0);
    expect(await redis.exists(`${prefix}:{groups}:group:${open.groupId}:open`)).toBe(1);
  });

  it('a group created again after retention removed it never repeats a notification id', async () => {
    const route = routeByPath(config.routes, 'root')!;
    const windowOne = async (at: number) => {
      const [group] = groupChanges(config.routes, [{ change: 'new', finding: vuln('CVE-AGAIN', 'shop/again') }]);
      const [timer] = await groups.add([group], new Date(at));
      const outcome = (await groups.flush(timer.groupId, timer.seq, new Date(at), route.repeatInterval))!;
      // As the flush job does once what the outcome decided is queued.
      const forget = redis.pipeline();
      groups.forgetIn(forget, timer.groupId, timer.seq);
      await forget.exec();
      return { timer, ids: notificationsOf(outcome, route, timer.groupId, timer.seq, new Date(at)).map((n) => n.id) };
    };
    const first = await windowOne(t0 + 50 * DAY);
    await groups.remove(first.timer.groupId);
    const again = await windowOne(t0 + 51 * DAY);
    expect(again.timer.seq).toBe(first.timer.seq);
    expect(again.ids).toHaveLength(1);
    expect(again.ids[0]).not.toBe(first.ids[0]);
  });

  it('removes dead letters older than deadLetters, and the oldest beyond maxDeadLetters', async () => {
    now = t0 + 60 * DAY;
    const letter = (id: string, daysAgo: number) => ({
      id,
      queue: 'deliver.siem',
      jobName: 'deliver-notification',
      data: {},
      error: { name: 'DestinationRejected', message: '400' },
      attempts: 1,
      failedAt: new Date(now - daysAgo * DAY).toISOString(),
    });
    for (const [id, days] of [
      ['a', 20],
      ['b', 3],
      ['c', 2],
      ['d', 1],
    ] as const)
      await runtime.queues.deadLetters.add(letter(id, days));
    expect((await sweep.execute()).deadLetters).toBe(2);
    expect((await runtime.queues.deadLetters.list(0, 10)).items.map((l) => l.id)).toEqual(['d', 'c']);
  });
});
