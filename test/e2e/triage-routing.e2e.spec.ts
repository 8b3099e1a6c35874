import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE, exceptionSchema } from '@klaxon/platform';
import { DEFAULT_TOKEN, SlackEmulator, type SlackMessage } from '../emulators/slack.emulator';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { dropPrefix, testPrefix, testRedis } from '../support/redis';
import { waitFor } from '../support/wait';

const D1 = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const D2 = 'sha256:1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001';

type TrivyVuln = Record<string, unknown> & { VulnerabilityID: string };
const fixture = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/trivy/image-checkout.json'), 'utf8')) as {
  Metadata: Record<string, unknown>;
  Results: { Vulnerabilities?: TrivyVuln[] }[];
};
const template = fixture.Results[0].Vulnerabilities![0];

/**
 * A Trivy image report (the fixture's shape and metadata) of `repository@digest` whose OS packages
 * have exactly `cves`, each in the fixture's first vulnerable package.
 */
function trivyReport(repository: string, digest: string, cves: string[]): string {
  const image = `harbor.example.com/${repository}:1.4.2`;
  return JSON.stringify({
    ...fixture,
    ArtifactName: image,
    Metadata: { ...fixture.Metadata, RepoTags: [image], RepoDigests: [`harbor.example.com/${repository}@${digest}`] },
    Results: [
      {
        Target: `${image} (debian 12.5)`,
        Class: 'os-pkgs',
        Type: 'debian',
        Vulnerabilities: cves.map((id) => ({ ...template, VulnerabilityID: id, PrimaryURL: `https://avd.aquasec.com/nvd/${id.toLowerCase()}` })),
      },
    ],
  });
}

const config = (slack: SlackEmulator, groupWait: string) => `
destinations:
  slack-sec:
    type: slack
    token: ${DEFAULT_TOKEN}
    channel: "#sec-alerts"
    apiUrl: ${slack.url}
routes:
  to: [slack-sec]
  groupBy: [artifact.repository]
  groupWait: ${groupWait}
  groupInterval: 1s
`;

type Json = Record<string, any>;

async function post(klaxon: TestKlaxon, body: string): Promise<string> {
  const res = await klaxon.api('/v1/reports?format=trivy', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}

async function event(klaxon: TestKlaxon, id: string): Promise<Json> {
  return (await (await klaxon.api(`/v1/events/${id}`)).json()) as Json;
}

async function triaged(klaxon: TestKlaxon, id: string): Promise<Json> {
  return waitFor(async () => {
    const e = await event(klaxon, id);
    return e.triage ? e : undefined;
  }, `triage of ${id}`);
}

describe('triage and routing against real Redis, through HTTP, to the Slack emulator', () => {
  let slack: SlackEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    slack = await SlackEmulator.start();
    const fromGit = exceptionSchema.parse({
      id: 'node-agent',
      match: ['rule = disallow-privileged-containers', 'workload.namespace = monitoring'],
      reason: 'Needs host access by design',
      owner: 'platform',
      permanent: true,
    });
    klaxon = await startTestKlaxon(config(slack, '300ms'), { exceptions: [fromGit] });
  });
  afterAll(async () => {
    await klaxon?.close();
    await slack?.stop();
  });

  const rootOf = (repository: string) => slack.roots().filter((m) => m.text?.includes(repository));
  const findingOf = async (repository: string, cve: string): Promise<Json> => {
    const list = (await (await klaxon.api(`/v1/findings?image=${repository}&limit=500`)).json()) as { items: Json[] };
    const item = list.items.find((f) => f.rule.id === cve);
    if (!item) throw new Error(`${cve} of ${repository} is not stored`);
    return (await (await klaxon.api(`/v1/findings/${item.fingerprint}`)).json()) as Json;
  };
  const text = (messages: SlackMessage[]) => messages.map((m) => `${m.text}\n${JSON.stringify(m.blocks)}`).join('\n');

  it('notifies once for a report posted twice, then threads the resolution and the regression under it', async () => {
    const first = await post(klaxon, trivyReport('shop/checkout', D1, ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003']));
    const [root] = await waitFor(() => (rootOf('shop/checkout').length ? rootOf('shop/checkout') : undefined), 'the first message');
    expect(root.text).toContain('3 new findings in shop/checkout');
    expect((await event(klaxon, first)).routed).toEqual({ notifications: 1, destinations: ['slack-sec'] });

    const repost = await triaged(klaxon, await post(klaxon, trivyReport('shop/checkout', D1, ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003'])));
    expect(repost.triage).toMatchObject({ new: 0, unchanged: 3, resolved: 0 });
    expect(repost.status).toBe('triaged');

    // A rescan of the same digest without CVE-2026-0003: it resolves, and the thread hears it.
    const rescan = await triaged(klaxon, await post(klaxon, trivyReport('shop/checkout', D1, ['CVE-2026-0001', 'CVE-2026-0002'])));
    expect(rescan.triage).toMatchObject({ resolved: 1, unchanged: 2 });
    const [resolution] = await waitFor(() => (slack.replies(root.ts).length === 1 ? slack.replies(root.ts) : undefined), 'the resolution');
    expect(text([resolution])).toContain('CVE-2026-0003');
    expect(resolution.text).toMatch(/resolved/i);
    const resolved = await findingOf('shop/checkout', 'CVE-2026-0003');
    expect(resolved.state).toBe('resolved');
    expect(resolved.history.map((h: Json) => h.state)).toEqual(['open', 'resolved']);

    // It comes back: a regression, reopened and told.
    const again = await triaged(klaxon, await post(klaxon, trivyReport('shop/checkout', D1, ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003'])));
    expect(again.triage).toMatchObject({ regressed: 1 });
    const replies = await waitFor(() => (slack.replies(root.ts).length === 2 ? slack.replies(root.ts) : undefined), 'the regression');
    expect(replies[1].text).toMatch(/1 regressed finding in shop\/checkout/);
    const reopened = await findingOf('shop/checkout', 'CVE-2026-0003');
    expect(reopened.state).toBe('open');
    expect(reopened.history.map((h: Json) => h.state)).toEqual(['open', 'resolved', 'open']);
    expect(reopened.history[2].cause).toMatch(/^regressed: seen again in evt_/);
    expect(rootOf('shop/checkout')).toHaveLength(1);
  });

  it('keeps one finding per problem across digests: two uploads of different digests give one finding with both', async () => {
    await triaged(klaxon, await post(klaxon, trivyReport('shop/checkout', D2, ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003'])));
    const finding = await findingOf('shop/checkout', 'CVE-2026-0001');
    expect(finding.digests).toEqual([D2, D1].sort());
    expect(finding.sources).toEqual(['trivy/report']);
    expect(finding.occurrences).toBe(5);
    expect(finding.routes).toEqual([
      { path: 'root', matched: [], to: ['slack-sec'], groupBy: ['artifact.repository'], groupLabels: { 'artifact.repository': 'shop/checkout' } },
    ]);
    expect(finding.exception).toBeNull();

    const byDigest = (await (await klaxon.api(`/v1/findings?digest=${D2}&state=open&minSeverity=high`)).json()) as Json;
    expect(byDigest.total).toBe(3);
    expect(byDigest.items.every((f: Json) => f.artifact.repository === 'shop/checkout' && f.history === undefined)).toBe(true);
    const paged = (await (await klaxon.api('/v1/findings?image=shop/checkout&limit=2&offset=2')).json()) as Json;
    expect(paged).toMatchObject({ total: 3, limit: 2, offset: 2 });
    expect(paged.items).toHaveLength(1);
    const none = (await (await klaxon.api('/v1/findings?image=shop/checkout&severity=low')).json()) as Json;
    expect(none.total).toBe(0);

    const bad = await klaxon.api('/v1/findings?state=closed');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).field).toBe('state[0]');
    expect((await klaxon.api('/v1/findings/0123456789abcdef0123456789abcdef')).status).toBe(404);
    expect((await klaxon.api('/v1/findings', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('merges the same CVE from Trivy and Grype into one finding with two sources', async () => {
    // The Trivy template's package is openssl, as in Grype's report of the same image.
    const trivy = await triaged(
      klaxon,
      await post(klaxon, trivyReport('shop/checkout', D2, ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003', 'CVE-2024-5535'])),
    );
    expect(trivy.triage).toMatchObject({ new: 1, unchanged: 3 });
    const grypeReport = readFileSync(resolve(__dirname, '../fixtures/grype/image-checkout.grype.json'), 'utf8');
    const res = await klaxon.api('/v1/reports?format=grype', { method: 'POST', body: grypeReport, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    const grype = await triaged(klaxon, ((await res.json()) as { eventId: string }).eventId);
    // The CVE Trivy already reported is not new: it is the same finding (updated: its routing signature,
    // read from the latest report, changed; unchanged otherwise).
    expect(grype.triage.unchanged + grype.triage.updated).toBeGreaterThanOrEqual(1);

    const finding = await findingOf('shop/checkout', 'CVE-2024-5535');
    expect(finding.sources).toEqual(['grype/report', 'trivy/report']);
    expect(finding.digests).toEqual([D1, D2].sort());
    const all = (await (await klaxon.api('/v1/findings?image=shop/checkout&limit=500')).json()) as Json;
    expect(all.items.filter((f: Json) => f.rule.id === 'CVE-2024-5535')).toHaveLength(1);
  });

  it('suppresses what an exception covers until it expires, then routes it as new', async () => {
    const missing = await klaxon.api('/v1/exceptions', { method: 'POST', json: { match: ['rule = CVE-2026-0009'], reason: 'r', owner: 'o' } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'bad_request', field: 'expires' });

    const expires = new Date(Date.now() + 5_000).toISOString();
    const created = await klaxon.api('/v1/exceptions', {
      method: 'POST',
      json: { id: 'cart-accepted', match: ['rule = CVE-2026-0009', 'image = shop/cart'], reason: 'not reachable, APPSEC-112', owner: 'team-payments', expires },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'cart-accepted', origin: 'api', active: true, expires });

    const eventId = await post(klaxon, trivyReport('shop/cart', D1, ['CVE-2026-0008', 'CVE-2026-0009']));
    expect((await triaged(klaxon, eventId)).triage).toMatchObject({ new: 1, suppressed: 1 });
    const [root] = await waitFor(() => (rootOf('shop/cart').length ? rootOf('shop/cart') : undefined), 'the cart message');
    expect(root.text).toContain('1 new finding in shop/cart');
    expect(text([root])).not.toContain('CVE-2026-0009');

    const suppressed = await findingOf('shop/cart', 'CVE-2026-0009');
    expect(suppressed).toMatchObject({ state: 'suppressed', suppressedBy: 'cart-accepted' });
    expect(suppressed.exception).toMatchObject({
      id: 'cart-accepted',
      reason: 'not reachable, APPSEC-112',
      matched: ['rule = CVE-2026-0009', 'image = shop/cart'],
    });
    const listed = (await (await klaxon.api('/v1/findings?state=suppressed&image=shop/cart')).json()) as Json;
    expect(listed.items.map((f: Json) => f.rule.id)).toEqual(['CVE-2026-0009']);

    const routeTest = (await (await klaxon.api('/v1/routes/test', { method: 'POST', json: suppressed })).json()) as Json;
    expect(routeTest).toMatchObject({ suppressed: true, destinations: [], exception: { id: 'cart-accepted' } });
    expect(routeTest.routes.map((r: Json) => r.path)).toEqual(['root']);

    const [later] = await waitFor(() => (slack.replies(root.ts).length ? slack.replies(root.ts) : undefined), 'the finding after expiry');
    expect(later.text).toContain('1 new finding in shop/cart');
    expect(text([later])).toContain('CVE-2026-0009');
    const reopened = await findingOf('shop/cart', 'CVE-2026-0009');
    expect(reopened.state).toBe('open');
    expect(reopened.history.at(-1).cause).toBe('exception cart-accepted expired');
    expect(((await (await klaxon.api('/v1/exceptions/cart-accepted')).json()) as Json).active).toBe(false);
  });

  it('deleting an exception routes what it suppressed; config exceptions cannot be deleted through the API', async () => {
    const created = await klaxon.api('/v1/exceptions', {
      method: 'POST',
      json: { id: 'web-accepted', match: ['image = shop/web'], reason: 'legacy, replaced in Q1', owner: 'team-web', permanent: true },
    });
    expect(created.status).toBe(201);
    expect((await triaged(klaxon, await post(klaxon, trivyReport('shop/web', D1, ['CVE-2026-0010'])))).triage).toMatchObject({ suppressed: 1 });
    const removed = await klaxon.api('/v1/exceptions/web-accepted', { method: 'DELETE' });
    expect(await removed.json()).toEqual({ id: 'web-accepted', deleted: true });
    const [message] = await waitFor(() => (rootOf('shop/web').length ? rootOf('shop/web') : undefined), 'the finding after delete');
    expect(text([message])).toContain('CVE-2026-0010');
    expect((await klaxon.api('/v1/exceptions/web-accepted', { method: 'DELETE' })).status).toBe(404);

    const fromGit = await klaxon.api('/v1/exceptions/node-agent', { method: 'DELETE' });
    expect(fromGit.status).toBe(409);
    expect(await fromGit.json()).toMatchObject({ error: 'conflict', field: 'id' });
    const listed = (await (await klaxon.api('/v1/exceptions')).json()) as Json;
    expect(listed.items.map((e: Json) => [e.id, e.origin])).toEqual([
      ['node-agent', 'config'],
      ['cart-accepted', 'api'],
    ]);
  });

  it('batches 100 findings of one report into one notification', async () => {
    const cves = Array.from({ length: 100 }, (_, i) => `CVE-2026-${String(1000 + i)}`);
    const eventId = await post(klaxon, trivyReport('shop/bulk', D1, cves));
    const routed = await waitFor(async () => {
      const e = await event(klaxon, eventId);
      return e.status === 'routed' && Object.keys(e.deliveries).length ? e : undefined;
    }, 'the bulk delivery');
    expect(routed.triage).toMatchObject({ new: 100 });
    expect(routed.routed).toEqual({ notifications: 1, destinations: ['slack-sec'] });
    const messages = slack.messages.filter((m) => m.text?.includes('shop/bulk'));
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toContain('100 new findings in shop/bulk: 100 critical');
  });
});

describe('a restart in the middle of a group window', () => {
  let slack: SlackEmulator;
  const prefix = testPrefix('restart');
  const redis = testRedis();

  beforeAll(async () => {
    slack = await SlackEmulator.start();
  });
  afterAll(async () => {
    await slack?.stop();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('delivers the group exactly once, from the process that starts after', async () => {
    const first = await startTestKlaxon(config(slack, '5s'), { prefix });
    let eventId: string;
    try {
      eventId = await post(first, trivyReport('shop/checkout', D1, ['CVE-2026-0001', 'CVE-2026-0002']));
      await triaged(first, eventId);
      await waitFor(async () => (await first.runtime.queues.queue(QUEUE.group).getDelayedCount()) === 1, 'the armed group timer');
    } finally {
      await first.close();
    }
    expect(slack.messages).toHaveLength(0);

    const second = await startTestKlaxon(config(slack, '5s'), { prefix });
    try {
      await waitFor(() => slack.messages.length > 0, 'the group notification');
      const deliveries = second.runtime.queues.queue('deliver.slack-sec');
      // Settled: the delivery is recorded on its event and nothing is left to send (a completed delivery leaves no job).
      await waitFor(async () => {
        const counts = await deliveries.getJobCounts('waiting', 'active', 'delayed', 'failed');
        const recorded = Object.keys(((await event(second, eventId)).deliveries ?? {}) as object).length === 1;
        return recorded && counts.waiting + counts.active + counts.delayed + counts.failed === 0;
      }, 'the delivery queue to settle');
      expect(slack.messages).toHaveLength(1);
      expect(slack.messages[0].text).toContain('2 new findings in shop/checkout');
      expect((await event(second, eventId)).routed).toEqual({ notifications: 1, destinations: ['slack-sec'] });
    } finally {
      await second.close();
    }
  });
});
