import { describe, expect, it } from 'vitest';
import { exceptionSchema } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { formatRouteTest, findingProbeSchema, probeFinding, testRoute } from './route-test';
import { routeByPath } from './route-tree';

const config = parseConfig(`
destinations:
  slack-sec: { type: slack, token: t, channel: "#sec-alerts" }
  pagerduty-oncall: { type: pagerduty, routingKey: k }
  siem: { type: webhook, url: "http://127.0.0.1:9/" }
routes:
  to: [slack-sec]
  groupWait: 10s
  routes:
    - name: runtime-incidents
      match: ["kind = runtime", "risk >= 80", "environment = production"]
      to: [pagerduty-oncall, slack-sec]
      groupBy: [workload]
      groupWait: 0s
      continue: true
    - name: everything-to-siem
      match: ["severity >= low"]
      to: [siem]
`);

const shell = probeFinding(
  findingProbeSchema.parse({
    kind: 'runtime',
    severity: 'critical',
    rule: { id: 'Terminal shell in container' },
    workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' },
    artifact: { repository: 'shop/checkout' },
    environment: 'production',
    risk: { score: 92, reasons: ['+25 runtime'] },
  }),
);

describe('routes test: where a finding would go and why', () => {
  it('lists every matching route with the matchers that made it match, and the destinations', () => {
    const result = testRoute(config.routes, shell, undefined);
    expect(result.routes).toEqual([
      {
        path: 'root/runtime-incidents',
        matched: ['kind = runtime', 'risk >= 80', 'environment = production'],
        to: ['pagerduty-oncall', 'slack-sec'],
        groupBy: ['workload'],
        groupLabels: { workload: 'prod-eu-1/prod-shop/Deployment/checkout' },
      },
      { path: 'root/everything-to-siem', matched: ['severity >= low'], to: ['siem'], groupBy: [], groupLabels: {} },
    ]);
    expect(result).toMatchObject({ suppressed: false, destinations: ['pagerduty-oncall', 'slack-sec', 'siem'] });
    expect(result.fingerprint).toMatch(/^[0-9a-f]{32}$/);
  });

  it('names the exception that suppresses it, and sends nowhere', () => {
    const exception = exceptionSchema.parse({
      id: 'drill',
      match: ['rule = Terminal shell in container', 'namespace = prod-shop'],
      reason: 'red-team drill',
      owner: 'secops',
      expires: '2027-01-01T00:00:00Z',
    });
    const result = testRoute(config.routes, shell, exception);
    expect(result).toMatchObject({
      suppressed: true,
      destinations: [],
      exception: {
        id: 'drill',
        reason: 'red-team drill',
        owner: 'secops',
        expires: '2027-01-01T00:00:00.000Z',
        matched: ['rule = Terminal shell in container', 'namespace = prod-shop'],
      },
    });
    expect(formatRouteTest(result)).toContain('would send to: nothing while suppressed');
  });

  it('falls back to the root for a finding no child matches, with inherited settings', () => {
    const info = probeFinding(findingProbeSchema.parse({ kind: 'vulnerability', severity: 'info', rule: { id: 'CVE-1' } }));
    expect(testRoute(config.routes, info, undefined).routes.map((r) => r.path)).toEqual(['root']);
    expect(routeByPath(config.routes, 'root/runtime-incidents')).toMatchObject({ groupWait: 0, to: ['pagerduty-oncall', 'slack-sec'], groupInterval: 300_000 });
    expect(routeByPath(config.routes, 'root/gone')).toBeUndefined();
  });

  it('rejects a probe whose fields do not fit the model, naming the field', () => {
    const result = findingProbeSchema.safeParse({ severity: 'urgent' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['severity']);
  });
});
