import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_KEY, PagerDutyEmulator } from '../emulators/pagerduty.emulator';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (path: string) => readFileSync(resolve(__dirname, '../fixtures', path), 'utf8');
const D = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
/** Four minutes after the prod shell in falco-shell-prod-shop.json; the clock runs on from there. */
const START = Date.parse('2026-11-23T09:34:00Z');
const GITHUB_SECRET = 'correlation-webhook-secret';

type Json = Record<string, any>;

describe('one finding followed from commit to runtime: a shell in an exposed prod pod whose image has a fixable critical pages', () => {
  let slack: SlackEmulator;
  let pagerduty: PagerDutyEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    slack = await SlackEmulator.start();
    pagerduty = await PagerDutyEmulator.start();
    const started = Date.now();
    // The runtime-incidents route of config/klaxon.example.yaml, against the emulators.
    klaxon = await startTestKlaxon(
      `
server:
  maxBodyBytes: 2097152
sources:
  github:
    secret: ${GITHUB_SECRET}
  falco: { allowUnauthenticated: true }   # the tests post as Falco's http_output does by default
context:
  environments:
    - match: ["namespace =~ prod-.*"]
      environment: production
    - match: ["namespace =~ (dev|test)-.*"]
      environment: development
  ownerLabels: [team, owner, app.kubernetes.io/part-of]
destinations:
  slack-sec:
    type: slack
    token: ${DEFAULT_TOKEN}
    channel: "#sec-alerts"
    apiUrl: ${slack.url}
  pagerduty-oncall:
    type: pagerduty
    routingKey: ${DEFAULT_ROUTING_KEY}
    eventsUrl: ${pagerduty.eventsUrl}
    caFile: ${pagerduty.caFile}
routes:
  to: [slack-sec]
  groupBy: [kind, workload]
  groupWait: 0s
  groupInterval: 1s
  routes:
    - name: runtime-incidents
      match: ["kind = runtime", "risk >= 80", "environment = production"]
      to: [pagerduty-oncall, slack-sec]
      groupBy: [workload]
      groupWait: 0s
      repeatInterval: 4h
      continue: true
`,
      { clock: () => new Date(START + (Date.now() - started)) },
    );
  });
  afterAll(async () => {
    await klaxon?.close();
    await pagerduty?.stop();
    await slack?.stop();
  });

  const json = async (path: string) => {
    const res = await klaxon.api(path);
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  };
  const triaged = (eventId: string) =>
    waitFor(async () => {
      const e = await json(`/v1/events/${eventId}`);
      return e.triage ? e : undefined;
    }, `triage of ${eventId}`);
  const upload = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await klaxon.api(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect(res.status).toBe(202);
    return triaged(((await res.json()) as { eventId: string }).eventId);
  };
  const runtimeFinding = async (namespace: string) => {
    const page = await json(`/v1/findings?kind=runtime&limit=500`);
    const found = (page.items as Json[]).find((f) => f.workload?.namespace === namespace);
    expect(found).toBeDefined();
    return found!;
  };
  const ranking = async () => (await json('/v1/risk/workloads')).items as Json[];
  const rankOf = async (namespace: string) => {
    const found = (await ranking()).find((w) => w.workload.namespace === namespace && w.workload.name === 'checkout');
    expect(found).toBeDefined();
    return found!;
  };

  it('builds the chain: the workflow run of PR 42, the scan of the D it built, the cluster where D runs in prod behind an Ingress and in dev unexposed', async () => {
    const run = fixture('github/workflow-run-completed.json');
    const build = await upload('/v1/webhooks/github', run, {
      'x-github-event': 'workflow_run',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(run).digest('hex')}`,
    });
    expect(build.parsed).toMatchObject({ findings: 0, assets: 1 });
    // No upload context: the image's OCI labels name repo and commit; the PR comes from the workflow run.
    await upload('/v1/reports?format=trivy', fixture('trivy/image-checkout.json'));
    const cluster = await upload('/v1/reports?format=kubernetes', fixture('kubernetes/cluster-list.json'));
    expect(cluster.parsed.assets).toBeGreaterThan(5);
    await upload('/v1/reports?format=kubernetes', fixture('correlation/cluster-dev-shop.json'));

    const items = await ranking();
    const prod = items.find((w) => w.workload.namespace === 'prod-shop' && w.workload.name === 'checkout')!;
    const dev = items.find((w) => w.workload.namespace === 'dev-shop' && w.workload.name === 'checkout')!;
    expect(items.indexOf(prod)).toBeLessThan(items.indexOf(dev));
    expect(prod.workload).toMatchObject({ environment: 'production', owners: { team: 'payments', owner: 'jane.doe' } });
    expect(prod.workload.exposedVia).toEqual(expect.arrayContaining(['Ingress prod-shop/checkout', 'Service prod-shop/checkout (LoadBalancer)']));
    expect(prod.workload.privileges).toEqual(expect.arrayContaining(['privileged', 'hostPath /var/run/docker.sock']));
    expect(dev.workload).toMatchObject({ environment: 'development', exposedVia: [] });

    // The same fixable critical, scored where it runs.
    const inProd = (prod.top as Json[]).find((f) => f.rule === 'CVE-2024-5535' && f.package === 'openssl') ?? prod.top[0];
    expect(inProd.reasons).toEqual(
      expect.arrayContaining(['+15 production environment', expect.stringMatching(/^\+20 internet-facing via Ingress prod-shop\/checkout/)]),
    );
    expect(prod.risk).toBeGreaterThanOrEqual(80);
    expect(dev.risk).toBeLessThan(80);
    expect(dev.top[0].reasons.some((r: string) => r.includes('internet-facing') || r.includes('production'))).toBe(false);
  });

  it('a Falco shell in the prod pod (no digest in the event) pages once, carrying the vulnerable packages with fixes, the PR and the commit', async () => {
    const event = await upload('/v1/webhooks/falco', fixture('correlation/falco-shell-prod-shop.json'));
    expect(event.triage.new).toBe(1);

    const detection = await runtimeFinding('prod-shop');
    expect(detection.risk.score).toBeGreaterThanOrEqual(80);
    expect(detection.risk.reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\+35 vulnerable image shipped by acme\/checkout PR #42 @ 4e1f0c2a9b8d: critical CVE-/),
        expect.stringMatching(/^\+10 running in prod-shop Deployment checkout \(linked by workload\)$/),
        '+15 production environment',
        expect.stringMatching(/^\+20 internet-facing via /),
      ]),
    );
    expect(detection).toMatchObject({
      environment: 'production',
      exposure: 'internet',
      artifact: { repository: 'shop/checkout', digest: D },
      code: { repo: 'acme/checkout', commit: COMMIT, pullRequest: 42 },
      labels: { team: 'payments', pr: '#42' },
    });
    // Its view: the image it was linked to through the workload, and who built that image.
    const view = await json(`/v1/findings/${detection.fingerprint}`);
    expect(view.context).toMatchObject({
      image: { digest: D, linkedBy: 'workload' },
      builtFrom: { repo: 'acme/checkout', commit: COMMIT, pullRequests: [42] },
    });
    expect(view.context.runsIn).toEqual([
      expect.objectContaining({ id: expect.stringMatching(/\/prod-shop\/Deployment\/checkout$/), exposedVia: expect.any(Array) }),
    ]);
    // A vulnerability of that image: linked by its own digest, built by the same run.
    const cve = (await json(`/v1/findings?kind=vulnerability&digest=${encodeURIComponent(D)}&limit=1`)).items[0] as Json;
    expect((await json(`/v1/findings/${cve.fingerprint}`)).context).toMatchObject({
      image: { digest: D, linkedBy: 'digest' },
      builtFrom: { repo: 'acme/checkout', commit: COMMIT, pullRequests: [42] },
    });

    const vulnerable = detection.raw.correlation.vulnerablePackages as Json[];
    expect(vulnerable).toContainEqual(expect.objectContaining({ id: 'CVE-2024-5535', package: 'openssl', fixed: expect.any(String) }));

    const incident = await waitFor(() => pagerduty.events.find((e) => e.event_action === 'trigger'), 'the PagerDuty incident');
    const details = JSON.stringify(incident.payload?.custom_details);
    expect(incident.payload?.summary).toContain('Terminal shell in container');
    expect(details).toContain('vulnerable image shipped by acme/checkout PR #42');
    expect(details).toMatch(/CVE-\d{4}-\d+ in \S+, fix /);
    expect(incident.links?.map((l) => l.href)).toContain('https://github.com/acme/checkout/pull/42');
    expect(pagerduty.events.filter((e) => e.event_action === 'trigger')).toHaveLength(1);
  });

  it('the shell raises every vulnerability of the prod workload', async () => {
    const prod = await rankOf('prod-shop');
    const vulns = (prod.top as Json[]).filter((f) => f.kind === 'vulnerability');
    expect(vulns.length).toBeGreaterThan(0);
    for (const v of vulns) expect(v.reasons).toContain('+25 runtime: Terminal shell in container 4 min ago');
  });

  it('the same shell in the dev twin stays low and pages nobody', async () => {
    await upload('/v1/webhooks/falco', fixture('correlation/falco-shell-dev-shop.json'));
    const detection = await runtimeFinding('dev-shop');
    expect(detection).toMatchObject({ environment: 'development', exposure: 'internal' });
    expect(detection.risk.score).toBeLessThan(80);
    expect(detection.risk.reasons.some((r: string) => r.includes('internet-facing'))).toBe(false);

    // It still reaches Slack through the root route; once it has, the pager is known to have stayed quiet.
    await waitFor(() => slack.messages.some((m) => JSON.stringify(m).includes('dev-shop')), 'the dev-shop Slack message');
    expect(pagerduty.events.filter((e) => e.event_action === 'trigger')).toHaveLength(1);

    const dev = await rankOf('dev-shop');
    expect(dev.risk).toBeLessThan(80);
  });
  it('a critical detection in an unexposed prod workload waits, and pages once a LoadBalancer exposes it', async () => {
    await upload('/v1/reports?format=kubernetes', fixture('correlation/pod-orders-db.json'));
    await upload('/v1/webhooks/falco', fixture('correlation/falco-drop-execute-orders-db.json'));
    const detection = (await json('/v1/findings?kind=runtime&limit=500')).items.find((f: Json) => f.rule.id === 'Drop and execute new binary in container');
    expect(detection).toMatchObject({ environment: 'production', exposure: 'internal' });
    expect(detection.risk.score).toBeLessThan(80);
    expect(detection.risk.reasons).toContain('+10 privileged: hostNetwork');
    await waitFor(() => slack.messages.some((m) => JSON.stringify(m).includes('orders-db')), 'the orders-db Slack message');
    expect(pagerduty.events.filter((e) => e.event_action === 'trigger')).toHaveLength(1);

    // Context changes, the finding does not: its risk is recomputed and it crosses the route's threshold.
    const exposed = await upload('/v1/reports?format=kubernetes', fixture('correlation/service-orders-db-public.json'));
    const page = await waitFor(
      () => pagerduty.events.find((e) => e.event_action === 'trigger' && e.payload?.summary.includes('Drop and execute new binary in container')),
      'the page for orders-db',
    );
    expect(JSON.stringify(page.payload?.custom_details)).toContain('+20 internet-facing via Service prod-shop/orders-db-public (LoadBalancer)');
    expect(pagerduty.events.filter((e) => e.event_action === 'trigger')).toHaveLength(2);
    const ranked = (await ranking()).find((w) => w.workload.name === 'orders-db');
    expect(ranked?.risk).toBeGreaterThanOrEqual(80);

    // The stored finding, its view and the risk filter all read the rescored risk and its context.
    const view = await json(`/v1/findings/${detection.fingerprint}`);
    expect(view.risk.score).toBeGreaterThanOrEqual(80);
    expect(view).toMatchObject({ environment: 'production', exposure: 'internet' });
    expect(view.context).toMatchObject({ risk: { score: view.risk.score, reasons: view.risk.reasons }, environment: 'production', exposure: 'internet' });
    expect(view.context.risk.reasons).toContain('+20 internet-facing via Service prod-shop/orders-db-public (LoadBalancer)');
    expect(view.context.runsIn.map((w: Json) => w.id)).toEqual([expect.stringMatching(/\/prod-shop\/StatefulSet\/orders-db$/)]);
    expect(view.routes.map((r: Json) => r.path)).toEqual(expect.arrayContaining([expect.stringContaining('runtime-incidents')]));
    const risky = await json('/v1/findings?kind=runtime&minRisk=80&limit=500');
    expect(risky.items.map((f: Json) => f.fingerprint)).toContain(detection.fingerprint);
    expect(risky.items.every((f: Json) => f.risk.score >= 80)).toBe(true);
    expect((await klaxon.api('/v1/findings?minRisk=high')).status).toBe(400);

    // The event that changed the context records the routing its rescore caused, apart from its own.
    const event = await waitFor(async () => {
      const e = await json(`/v1/events/${exposed.id}`);
      return e.rescored ? e : undefined;
    }, 'the rescore routing on the event');
    expect(event.rescored).toEqual({ findings: 1, notifications: 2, destinations: ['pagerduty-oncall', 'slack-sec'] });
    expect(event.routed).toBeUndefined();
  });
});
