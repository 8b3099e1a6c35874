import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../cli';

function capture() {
  const lines: string[] = [];
  const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) } as unknown as Console;
  return { out, text: () => lines.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'klaxon-routes-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
file(
  'exceptions.yaml',
  `exceptions:
  - id: log4j-dev-accepted
    match: ["rule = CVE-2021-44228", "namespace = dev-shop"]
    reason: "Dev-only sandbox, no network egress; tracked in APPSEC-112"
    owner: team-payments
    permanent: true
`,
);
const config = file(
  'klaxon.yaml',
  `destinations:
  slack-sec: { type: slack, token: xoxb-test, channel: "#sec-alerts" }
  jira-appsec: { type: jira, host: jira.example.com, username: u, password: p, project: APPSEC }
routes:
  to: [slack-sec]
  routes:
    - name: fixable-vulns-to-developers
      match: ["kind = vulnerability", "fixable = true", "severity >= high"]
      to: [jira-appsec]
      groupBy: [artifact.repository]
      continue: true
exceptionsFile: ${join(dir, 'exceptions.yaml')}
`,
);
const finding = (namespace: string) =>
  file(
    `finding-${namespace}.json`,
    JSON.stringify({
      kind: 'vulnerability',
      severity: 'critical',
      fixable: true,
      rule: { id: 'CVE-2021-44228' },
      package: { name: 'log4j-core', installed: '2.14.1', fixed: '2.15.0' },
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout' },
      workload: { cluster: 'prod-eu-1', namespace, kind: 'Deployment', name: 'checkout' },
    }),
  );

describe('klaxon routes test', () => {
  it('prints the matching routes, their matchers and destinations; exit 0, offline', async () => {
    const { out, text } = capture();
    expect(await main(['routes', 'test', '--finding', finding('prod-shop'), '--config', config], out)).toBe(0);
    expect(text()).toContain('route root/fixable-vulns-to-developers → jira-appsec');
    expect(text()).toContain('matched: kind = vulnerability; fixable = true; severity >= high');
    expect(text()).toContain('group: artifact.repository=shop/checkout');
    expect(text()).toContain('would send to: jira-appsec');
  });

  it('names the exception of the exceptions file that suppresses it, and why', async () => {
    const { out, text } = capture();
    expect(await main(['routes', 'test', '--finding', finding('dev-shop'), '--config', config, '--json'], out)).toBe(0);
    expect(JSON.parse(text())).toMatchObject({
      suppressed: true,
      destinations: [],
      exception: { id: 'log4j-dev-accepted', owner: 'team-payments', permanent: true, matched: ['rule = CVE-2021-44228', 'namespace = dev-shop'] },
    });
  });

  it('exits 2 without --finding and 1 for a finding file that does not fit the model', async () => {
    const { out, text } = capture();
    expect(await main(['routes', 'test', '--config', config], out)).toBe(2);
    expect(text()).toContain('usage: klaxon routes test --finding');
    expect(await main(['routes', 'test', '--finding', file('bad.json', '{"severity":"urgent"}'), '--config', config], out)).toBe(1);
    expect(text()).toContain('severity: Invalid enum value');
  });
});
