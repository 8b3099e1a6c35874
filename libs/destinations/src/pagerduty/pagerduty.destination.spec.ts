import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toFinding, type Finding, type Severity } from '@klaxon/findings';
import { pagerdutyDestinationSchema, type PagerDutyDestinationConfig } from './config';
import type { Notification, NotificationChanges } from '@klaxon/routing';
import { DEFAULT_ROUTING_KEY, PagerDutyEmulator } from '../../../../test/emulators/pagerduty.emulator';
import { DestinationRejected, DestinationUnavailable, RateLimited } from '../destination';
import { PagerDutyDestination } from './pagerduty.destination';
import { dedupKeyOf, PD_SEVERITY, renderTrigger } from './render';

function shellInContainer(severity: Severity = 'critical', over: Partial<Finding> = {}): Finding {
  return toFinding({
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'falco', integration: 'falcosidekick' },
    title: 'Terminal shell in container',
    severity,
    rule: { id: 'Terminal shell in container', references: ['https://falco.org/docs/rules/'] },
    workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c5b6f4-x2k8p', container: 'app' },
    artifact: {
      registry: 'harbor.example.com',
      repository: 'shop/checkout',
      digest: 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f',
    },
    fixable: false,
    observedAt: '2024-11-23T10:00:00Z',
    risk: { score: 92, reasons: ['+20 internet-facing via Ingress shop/checkout', '+15 production'] },
    ...over,
  });
}

let seq = 0;
function notification(changes: Partial<NotificationChanges>): Notification {
  seq++;
  return {
    id: `n-${seq}`,
    key: 'runtime/pd-oncall/prod-shop/checkout',
    route: 'runtime',
    destination: 'pd-oncall',
    groupLabels: { 'workload.namespace': 'prod-shop', 'workload.name': 'checkout' },
    createdAt: '2024-11-23T10:05:00.000Z',
    eventId: 'evt_1',
    changes: { new: [], regressed: [], resolved: [], open: [], ...changes },
  };
}

let pd: PagerDutyEmulator;
let config: PagerDutyDestinationConfig;

beforeAll(async () => {
  pd = await PagerDutyEmulator.start();
  config = pagerdutyDestinationSchema.parse({ type: 'pagerduty', routingKey: DEFAULT_ROUTING_KEY, eventsUrl: pd.eventsUrl, caFile: pd.caFile });
});
afterAll(async () => {
  await pd.stop();
});
beforeEach(() => pd.reset());

describe('renderTrigger', () => {
  it('maps severities onto PagerDuty’s four', () => {
    expect(PD_SEVERITY).toEqual({ critical: 'critical', high: 'error', medium: 'warning', low: 'info', info: 'info' });
  });

  it('counts the findings told before from the told counts, their severity included', () => {
    const told = { count: 4, bySeverity: { critical: 1, medium: 3 }, fingerprints: ['a', 'b', 'c', 'd'] };
    const repeat = renderTrigger(notification({ told })).payload;
    expect(repeat.summary).toBe('[critical] 4 findings still open in prod-shop, checkout');
    expect(repeat.severity).toBe('critical');
    expect(repeat.custom_details.counts).toEqual({ new: 0, regressed: 0, open: 4, resolved: 0 });
    expect(repeat.custom_details.more).toBe(4);

    const grown = renderTrigger(notification({ new: [shellInContainer('high')], told })).payload;
    expect(grown.summary).toMatch(/^\[high\] .* \(\+4 more\)$/);
    expect(grown.severity).toBe('critical');
    expect(grown.custom_details.counts).toMatchObject({ new: 1, open: 5 });
  });

  it('names the worst finding and where it runs, within 1024 characters', () => {
    const event = renderTrigger(notification({ new: [shellInContainer('high'), shellInContainer('critical', { title: 'x'.repeat(3000) })] }));

    expect(event.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(event.payload.summary).toMatch(/^\[critical\] Terminal shell in container: x+…$/);
    expect(event.payload).toMatchObject({
      source: 'prod-eu-1/prod-shop/Deployment/checkout (container app)',
      severity: 'critical',
      component: 'checkout',
      group: 'prod-shop',
      class: 'runtime',
    });
    expect(event.payload.custom_details).toMatchObject({ counts: { new: 2, open: 2 }, klaxon_event: 'evt_1' });
  });

  it('carries the code and what correlation found, so one incident holds the runtime and the build side', () => {
    const commit = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
    // As the correlate step writes it (libs/triage/src/correlate): fixable criticals of the image, the build, the owners.
    const correlation = {
      image: { digest: 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f', repository: 'shop/checkout', tags: ['1.4.2'] },
      linkedBy: 'digest',
      build: { repo: 'acme/checkout', commit, branch: 'feature/faster-cart', pullRequests: [42] },
      workload: {
        id: 'prod-eu-1/prod-shop/Deployment/checkout',
        environment: 'production',
        exposedVia: ['Ingress shop/checkout'],
        owners: { team: 'payments' },
      },
      runningIn: Array.from({ length: 12 }, (_, i) => `prod-eu-1/prod-shop/Deployment/checkout-${i}`),
      vulnerablePackages: [{ id: 'CVE-2024-5535', package: 'openssl', installed: '3.0.11-1~deb12u2', fixed: '3.0.14-1~deb12u1', severity: 'critical' }],
    };
    const correlated = shellInContainer('critical', { code: { repo: 'acme/checkout', commit, pullRequest: 42 }, raw: { correlation } });

    const [details] = renderTrigger(notification({ new: [correlated, shellInContainer('high')] })).payload.custom_details.findings as Record<string, unknown>[];

    expect(details).toMatchObject({
      code: { repo: 'acme/checkout', commit, pull_request: 42, pull_request_url: 'https://github.com/acme/checkout/pull/42' },
      correlation: {
        vulnerablePackages: correlation.vulnerablePackages,
        build: correlation.build,
        workload: { owners: { team: 'payments' } },
        image: correlation.image,
        runningIn: correlation.runningIn.slice(0, 10),
        runningInMore: 2,
      },
    });
    const plain = (renderTrigger(notification({ new: [shellInContainer()] })).payload.custom_details.findings as Record<string, unknown>[])[0]!;
    expect(plain).not.toHaveProperty('code');
    expect(plain).not.toHaveProperty('correlation');
  });
});

describe('PagerDutyDestination', () => {
  const shell = shellInContainer();

  it('triggers one alert keyed by the notification key, then resolves the same key', async () => {
    const destination = new PagerDutyDestination(config);
    const n = notification({ new: [shell] });

    const opened = await destination.send(n, undefined);
    expect(opened).toMatchObject({ ref: dedupKeyOf(n.key), status: 'open' });
    expect(pd.events[0]).toMatchObject({ event_action: 'trigger', dedup_key: dedupKeyOf(n.key), payload: { severity: 'critical' } });
    expect(pd.events[0]!.links).toContainEqual({ href: 'https://falco.org/docs/rules/', text: 'Terminal shell in container' });

    await destination.send(notification({ open: [shell] }), opened);
    const resolved = await destination.send(notification({ resolved: [shell] }), opened);

    expect(pd.allAlerts()).toHaveLength(1);
    expect(pd.alert(opened.ref)).toMatchObject({ status: 'resolved', incidents: 1 });
    expect(pd.events.map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'resolve']);
    expect(pd.events[2]!.payload).toBeUndefined();
    expect(resolved.status).toBe('resolved');
  });

  it('retriggers the same key on regression, and never acknowledges', async () => {
    const destination = new PagerDutyDestination(config);
    const opened = await destination.send(notification({ new: [shell] }), undefined);
    const resolved = await destination.send(notification({ resolved: [shell] }), opened);

    await destination.send(notification({ regressed: [shell] }), resolved);

    expect(pd.alert(opened.ref)).toMatchObject({ status: 'triggered', incidents: 2 });
    expect(pd.events.map((e) => e.event_action)).not.toContain('acknowledge');
  });

  it('rejects an unknown routing key with PagerDuty’s error list', async () => {
    const sent = new PagerDutyDestination({ ...config, routingKey: 'R0UNKNOWNROUTINGKEY0000000000001' }).send(notification({ new: [shell] }), undefined);

    await expect(sent).rejects.toBeInstanceOf(DestinationRejected);
    await expect(sent).rejects.toThrow('pagerduty: HTTP 400 Event object is invalid: Invalid routing key');
  });

  it('rejects a malformed routing key naming the rule', async () => {
    const sent = new PagerDutyDestination({ ...config, routingKey: 'short' }).send(notification({ new: [shell] }), undefined);

    await expect(sent).rejects.toThrow("Length of 'routing_key' is incorrect (should be 32 characters)");
  });

  it('absorbs one 429 inside the client and surfaces a lasting one as RateLimited', async () => {
    pd.failNext(1, { status: 429 });
    await new PagerDutyDestination(config).send(notification({ new: [shell] }), undefined);
    expect(pd.calls.map((c) => c.status)).toEqual([429, 202]);

    pd.reset();
    pd.failNext(4, { status: 429, retryAfter: 9 });
    const error = await new PagerDutyDestination(config).send(notification({ new: [shell] }), undefined).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimited);
    expect((error as RateLimited).retryAfterMs).toBe(9000);
    expect(pd.calls).toHaveLength(4);
    expect(pd.events).toEqual([]);
  });

  it('reports a 5xx and a refused connection as unavailable', async () => {
    pd.failNext(1, { status: 503 });
    await expect(new PagerDutyDestination(config).send(notification({ new: [shell] }), undefined)).rejects.toBeInstanceOf(DestinationUnavailable);

    const closed = await PagerDutyEmulator.start();
    const eventsUrl = closed.eventsUrl;
    await closed.stop();
    await expect(new PagerDutyDestination({ ...config, eventsUrl }).send(notification({ new: [shell] }), undefined)).rejects.toBeInstanceOf(
      DestinationUnavailable,
    );
  });

  it('does not trust the emulator’s certificate without caFile', async () => {
    const sent = new PagerDutyDestination({ ...config, caFile: undefined }).send(notification({ new: [shell] }), undefined);

    await expect(sent).rejects.toThrow(/pagerduty: .*(SELF_SIGNED|self.signed|DEPTH_ZERO)/i);
  });
});
