import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Finding } from '@klaxon/findings';
import { parseConfig } from '@klaxon/destinations';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { groupChanges, notificationsOf } from './group';
import { GroupRepository, type PendingChange } from './group.repository';
import { routeByPath } from '../route-tree';

const config = parseConfig(`
destinations:
  slack-sec: { type: slack, token: t, channel: "#sec-alerts" }
  jira-appsec: { type: jira, host: jira.example.com, username: u, password: p, project: APPSEC }
routes:
  to: [slack-sec]
  groupBy: [artifact.repository]
  groupWait: 30s
  groupInterval: 5m
  repeatInterval: 4h
  routes:
    - name: fixable
      match: ["fixable = true", "severity >= high"]
      to: [jira-appsec, slack-sec]
      groupWait: 10s
`);

function vuln(cve: string, repository = 'shop/checkout', severity: Finding['severity'] = 'high'): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'build',
    source: { tool: 'trivy', integration: 'report' },
    title: `${cve} in openssl`,
    severity,
    rule: { id: cve, references: [] },
    artifact: { repository },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-23T10:00:00Z',
  });
}

const t0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const at = (ms: number) => new Date(t0 + ms);
const ids = (findings: Finding[]) => findings.map((f) => f.rule.id).sort();

describe('Alertmanager-style groups in Redis', () => {
  let redis: Redis;
  let prefix: string;
  let groups: GroupRepository;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('groups');
    groups = new GroupRepository(redis, prefix);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  const add = (changes: PendingChange[], now: number) => groups.add(groupChanges(config.routes, changes), at(now));
  const change = (kind: PendingChange['change'], finding: Finding, eventId = 'evt-1'): PendingChange => ({ change: kind, finding, eventId });

  it('sorts changes into one group per route and groupBy value, with the route timing resolved', () => {
    const sorted = groupChanges(config.routes, [
      change('new', vuln('CVE-1')),
      change('new', vuln('CVE-2', 'shop/cart')),
      change('new', vuln('CVE-3', 'shop/cart', 'low')),
    ]);
    expect(sorted.map((g) => [g.route, g.labels['artifact.repository'], g.groupWait, g.changes.length])).toEqual([
      ['root/fixable', 'shop/checkout', 10_000, 1],
      ['root/fixable', 'shop/cart', 10_000, 1],
      ['root', 'shop/cart', 30_000, 1],
    ]);
  });

  it('waits groupWait, sends everything of the window once, batches later changes per groupInterval, and repeats only after repeatInterval', async () => {
    const route = routeByPath(config.routes, 'root/fixable')!;
    const [timer] = await add([change('new', vuln('CVE-1')), change('new', vuln('CVE-2'))], 0);
    expect(timer).toMatchObject({ route: 'root/fixable', seq: 1, flushAt: t0 + 10_000 });
    // More changes inside the window join it; the timer is not pushed back.
    expect(await add([change('new', vuln('CVE-3'), 'evt-2')], 5_000)).toEqual([timer]);

    const first = (await groups.flush(timer.groupId, 1, at(10_000), route.repeatInterval))!;
    expect(first.notify).toBe(true);
    expect(ids(first.changes.new)).toEqual(['CVE-1', 'CVE-2', 'CVE-3']);
    expect(first.changes.open).toEqual([]);
    expect([...first.events].sort()).toEqual(['evt-1', 'evt-2']);
    expect(first.next).toEqual({ seq: 2, flushAt: t0 + 10_000 + 4 * 3_600_000 });
    const notifications = notificationsOf(first, route, timer.groupId, 1, at(10_000));
    expect(notifications.map((n) => n.destination)).toEqual(['jira-appsec', 'slack-sec']);
    expect(new Set(notifications.map((n) => n.id)).size).toBe(2);

    // A retried flush of the same window answers the same; a stale window answers nothing.
    expect(await groups.flush(timer.groupId, 1, at(11_000), route.repeatInterval)).toEqual(first);
    expect(await groups.flush(timer.groupId, 0, at(11_000), route.repeatInterval)).toBeUndefined();

    // A change one minute later waits for groupInterval after the last flush (a new window, brought forward from the repeat).
    const [second] = await add([change('resolved', vuln('CVE-2'), 'evt-3'), change('new', vuln('CVE-1'), 'evt-3')], 60_000);
    expect(second).toMatchObject({ seq: 3, flushAt: t0 + 10_000 + 300_000 });
    expect(await groups.flush(timer.groupId, 2, at(4 * 3_600_000), route.repeatInterval)).toBeUndefined();
    const update = (await groups.flush(timer.groupId, 3, at(310_000), route.repeatInterval))!;
    // CVE-1 again as "new" is not news: it was told open already. What was told comes as counts and
    // fingerprints, not records: a group's notifications do not carry its whole history each window.
    expect({ new: ids(update.changes.new), resolved: ids(update.changes.resolved), open: ids(update.changes.open) }).toEqual({
      new: [],
      resolved: ['CVE-2'],
      open: [],
    });
    expect(update.changes.told).toEqual({
      count: 2,
      bySeverity: { high: 2 },
      fingerprints: expect.arrayContaining([vuln('CVE-1').fingerprint, vuln('CVE-3').fingerprint]),
    });
    expect(update.events).toEqual(['evt-3']);

    // Nothing changed: the repeat timer re-notifies what is still open.
    const repeat = (await groups.flush(timer.groupId, update.next!.seq, at(310_000 + 4 * 3_600_000), route.repeatInterval))!;
    expect(repeat.notify).toBe(true);
    expect(repeat.changes.told).toMatchObject({ count: 2, bySeverity: { high: 2 } });
    expect(repeat.changes.open).toEqual([]);
    expect(repeat.changes.new).toEqual([]);
  });

  it('tells a regression once, tells a rescored or unsuppressed finding as new where untold, drops suppressed ones from the open set, and stops timing a group with nothing open', async () => {
    const route = routeByPath(config.routes, 'root')!;
    const low = (cve: string) => vuln(cve, 'shop/web', 'low');
    const [timer] = await add([change('new', low('CVE-7')), change('new', low('CVE-8'))], 0);
    await groups.flush(timer.groupId, timer.seq, at(30_000), route.repeatInterval);

    const [t2] = await add([change('resolved', low('CVE-7')), change('suppressed', low('CVE-8'))], 40_000);
    const quiet = (await groups.flush(t2.groupId, t2.seq, new Date(t2.flushAt), route.repeatInterval))!;
    expect(ids(quiet.changes.resolved)).toEqual(['CVE-7']);
    expect(quiet.changes.open).toEqual([]);
    expect(quiet.next).toBeUndefined();

    const [t3] = await add([change('regressed', low('CVE-7')), change('unsuppressed', low('CVE-8')), change('rescored', low('CVE-6'))], 1_000_000);
    expect(t3.flushAt).toBe(t0 + 1_000_000 + 30_000);
    const back = (await groups.flush(t3.groupId, t3.seq, new Date(t3.flushAt), route.repeatInterval))!;
    expect({ new: ids(back.changes.new), regressed: ids(back.changes.regressed) }).toEqual({ new: ['CVE-6', 'CVE-8'], regressed: ['CVE-7'] });

    // A rescored finding already told open is not news again.
    const [t4] = await add([change('rescored', low('CVE-6'))], 2_000_000);
    expect((await groups.flush(t4.groupId, t4.seq, new Date(t4.flushAt), route.repeatInterval))!.notify).toBe(false);
  });

  it('sends an updated finding again with its new data among the open ones, and tells an untold one as new', async () => {
    const route = routeByPath(config.routes, 'root')!;
    const v1 = vuln('CVE-20', 'shop/api', 'low');
    const [timer] = await add([change('new', v1), change('new', vuln('CVE-21', 'shop/api', 'low'))], 0);
    await groups.flush(timer.groupId, timer.seq, at(30_000), route.repeatInterval);

    const v2 = { ...v1, description: 'seen 5 times' };
    const [t2] = await add([change('updated', v2, 'evt-5')], 40_000);
    const again = (await groups.flush(t2.groupId, t2.seq, new Date(t2.flushAt), route.repeatInterval))!;
    expect(again.notify).toBe(true);
    expect(again.changes.new).toEqual([]);
    // Only the record that changed; the other told one is counted.
    expect(ids(again.changes.open)).toEqual(['CVE-20']);
    expect(again.changes.open.find((f) => f.rule.id === 'CVE-20')?.description).toBe('seen 5 times');
    expect(again.changes.told).toMatchObject({ count: 2, bySeverity: { low: 2 } });
    expect(again.routedBy).toEqual([{ event: 'evt-5', cause: 'batch', findings: 1 }]);

    const [t3] = await add([change('updated', vuln('CVE-22', 'shop/api', 'low'), 'evt-6')], 400_000);
    expect(ids((await groups.flush(t3.groupId, t3.seq, new Date(t3.flushAt), route.repeatInterval))!.changes.new)).toEqual(['CVE-22']);
  });

  it('keeps every told record for a route whose destinations show the whole state, and sends them each window', async () => {
    const route = routeByPath(config.routes, 'root')!;
    const [timer] = await add([change('new', vuln('CVE-40', 'shop/pr', 'low')), change('new', vuln('CVE-41', 'shop/pr', 'low'))], 0);
    await groups.flush(timer.groupId, timer.seq, at(30_000), route.repeatInterval, undefined, true);
    const [t2] = await add([change('new', vuln('CVE-42', 'shop/pr', 'low'), 'evt-9')], 40_000);
    const next = (await groups.flush(t2.groupId, t2.seq, new Date(t2.flushAt), route.repeatInterval, undefined, true))!;
    expect(ids(next.changes.new)).toEqual(['CVE-42']);
    expect(ids(next.changes.open)).toEqual(['CVE-40', 'CVE-41']);
    expect(next.changes.open[0].package?.name).toBe('openssl');
    expect(next.changes.told).toMatchObject({ count: 2, bySeverity: { low: 2 } });
  });

  it('counts what a flush told per input and cause, so rescore routing is told apart from the input’s own', async () => {
    const route = routeByPath(config.routes, 'root')!;
    const [timer] = await add(
      [
        change('new', vuln('CVE-30', 'shop/search', 'low'), 'evt-7'),
        { ...change('rescored', vuln('CVE-31', 'shop/search', 'low'), 'evt-7'), cause: 'rescore' },
        { ...change('rescored', vuln('CVE-32', 'shop/search', 'low'), 'evt-7'), cause: 'rescore' },
      ],
      0,
    );
    const outcome = (await groups.flush(timer.groupId, timer.seq, at(30_000), route.repeatInterval))!;
    expect(outcome.events).toEqual(['evt-7']);
    expect([...outcome.routedBy].sort((a, b) => a.cause.localeCompare(b.cause))).toEqual([
      { event: 'evt-7', cause: 'batch', findings: 1 },
      { event: 'evt-7', cause: 'rescore', findings: 2 },
    ]);
  });

  it('sends nothing for a window whose only changes were never told (new then resolved within it)', async () => {
    const route = routeByPath(config.routes, 'root')!;
    const [timer] = await add([change('new', vuln('CVE-9', 'shop/tmp', 'low'))], 0);
    await add([change('resolved', vuln('CVE-9', 'shop/tmp', 'low'))], 1_000);
    const outcome = (await groups.flush(timer.groupId, timer.seq, at(30_000), route.repeatInterval))!;
    expect(outcome.notify).toBe(false);
    expect(notificationsOf(outcome, route, timer.groupId, timer.seq, at(30_000))).toEqual([]);
  });
});
