import { describe, expect, it } from 'vitest';
import { riskConfigSchema } from '@klaxon/platform';
import { formatAgo, scoreRisk, type FindingContext, type RiskSubject, type WorkloadContext } from './risk';

const config = riskConfigSchema.parse({});
const now = new Date('2026-11-23T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

const opensslCritical: RiskSubject = {
  kind: 'vulnerability',
  severity: 'critical',
  fixable: true,
  rule: { id: 'CVE-2024-5535', cvss: 9.1 },
  package: { name: 'openssl', fixed: '3.0.14-1~deb12u2' },
};
const shell: RiskSubject = { kind: 'runtime', severity: 'low', fixable: false, rule: { id: 'Terminal shell in container' } };
const dropAndExecute: RiskSubject = { kind: 'runtime', severity: 'critical', fixable: false, rule: { id: 'Drop and execute new binary in container' } };

function workload(overrides: Partial<WorkloadContext> = {}): WorkloadContext {
  return {
    id: 'prod-eu-1/prod-shop/Deployment/checkout',
    cluster: 'prod-eu-1',
    namespace: 'prod-shop',
    kind: 'Deployment',
    name: 'checkout',
    environment: 'production',
    owners: { team: 'payments' },
    exposedVia: ['Ingress prod-shop/checkout'],
    privileges: [],
    linkedBy: 'digest',
    lastSeen: minutesAgo(1),
    detections: [],
    ...overrides,
  };
}
const devTwin = workload({ id: 'prod-eu-1/dev-shop/Deployment/checkout', namespace: 'dev-shop', environment: 'development', exposedVia: [] });
const shellDetection = {
  fingerprint: 'f1',
  title: 'Terminal shell in container',
  rule: 'Terminal shell in container',
  severity: 'low' as const,
  at: minutesAgo(4),
};
const vulnerable = [
  {
    fingerprint: 'v1',
    id: 'CVE-2024-5535',
    package: 'openssl',
    installed: '3.0.11-1~deb12u2',
    fixed: '3.0.14-1~deb12u2',
    severity: 'critical' as const,
    fixable: true,
  },
  { fingerprint: 'v2', id: 'CVE-2023-44487', package: 'golang.org/x/net', fixed: '0.17.0', severity: 'high' as const, fixable: true },
  { fingerprint: 'v3', id: 'CVE-2023-45853', package: 'zlib1g', severity: 'critical' as const, fixable: false },
];
const context = (c: Partial<FindingContext>): FindingContext => ({ workloads: [], vulnerabilities: [], ...c });

describe('scoreRisk', () => {
  it.each<[string, RiskSubject, FindingContext, number, string[]]>([
    [
      'a fixable critical in an image not known to run',
      opensslCritical,
      context({}),
      37,
      ['+32 critical severity (CVSS 9.1)', '+5 fix available: openssl 3.0.14-1~deb12u2'],
    ],
    [
      'the same critical in an internet-facing production workload',
      opensslCritical,
      context({ workloads: [workload()] }),
      82,
      [
        '+32 critical severity (CVSS 9.1)',
        '+5 fix available: openssl 3.0.14-1~deb12u2',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
      ],
    ],
    [
      'the same critical where a shell was opened 4 minutes ago (capped at 100)',
      opensslCritical,
      context({ workloads: [workload({ detections: [shellDetection] })] }),
      100,
      [
        '+32 critical severity (CVSS 9.1)',
        '+5 fix available: openssl 3.0.14-1~deb12u2',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
        '+25 runtime: Terminal shell in container 4 min ago',
      ],
    ],
    [
      'the same critical in an unexposed development pod stays low',
      opensslCritical,
      context({ workloads: [devTwin] }),
      47,
      ['+32 critical severity (CVSS 9.1)', '+5 fix available: openssl 3.0.14-1~deb12u2', '+10 running in prod-eu-1/dev-shop Deployment checkout'],
    ],
    [
      'a detection older than the runtime window adds nothing',
      opensslCritical,
      context({ workloads: [workload({ ...devTwin, detections: [{ ...shellDetection, at: minutesAgo(25 * 60) }] })] }),
      47,
      ['+32 critical severity (CVSS 9.1)', '+5 fix available: openssl 3.0.14-1~deb12u2', '+10 running in prod-eu-1/dev-shop Deployment checkout'],
    ],
    [
      'the worst of several workloads counts',
      opensslCritical,
      context({ workloads: [devTwin, workload({ exposedVia: [] })] }),
      62,
      [
        '+32 critical severity (CVSS 9.1)',
        '+5 fix available: openssl 3.0.14-1~deb12u2',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
      ],
    ],
    [
      'known exploitation and EPSS, without CVSS, in a privileged staging pod linked by tag',
      { kind: 'vulnerability', severity: 'high', fixable: false, rule: { id: 'CVE-2021-44228', exploited: true, epss: 0.94 } },
      context({
        workloads: [workload({ environment: 'staging', exposedVia: [], privileges: ['privileged', 'hostNetwork', 'runs as root'], linkedBy: 'tag' })],
      }),
      87,
      [
        '+25 high severity',
        '+20 known exploited (CISA KEV or tool exploit flag)',
        '+14 EPSS 94%',
        '+10 running in prod-eu-1/prod-shop Deployment checkout (linked by tag)',
        '+8 staging environment',
        '+10 privileged: privileged, hostNetwork, runs as root',
      ],
    ],
    [
      'a shell in an internet-facing production pod whose image has a fixable critical is an incident',
      shell,
      context({ workloads: [workload()], vulnerabilities: vulnerable }),
      85,
      [
        '+5 low severity',
        '+35 vulnerable image: critical CVE-2024-5535 in openssl, fix 3.0.14-1~deb12u2 (+1 more)',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
      ],
    ],
    [
      'the vulnerable image names the build that shipped it',
      shell,
      context({
        image: {
          digest: 'sha256:9f2c',
          tags: ['1.4.2'],
          build: { repo: 'acme/checkout', commit: '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f', pullRequests: [42] },
        },
        workloads: [workload()],
        vulnerabilities: [vulnerable[1]],
      }),
      85,
      [
        '+5 low severity',
        '+35 vulnerable image shipped by acme/checkout PR #42 @ 4e1f0c2a9b8d: high CVE-2023-44487 in golang.org/x/net, fix 0.17.0',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
      ],
    ],
    [
      'the same shell in the development twin stays below paging',
      shell,
      context({ workloads: [devTwin], vulnerabilities: vulnerable }),
      50,
      [
        '+5 low severity',
        '+35 vulnerable image: critical CVE-2024-5535 in openssl, fix 3.0.14-1~deb12u2 (+1 more)',
        '+10 running in prod-eu-1/dev-shop Deployment checkout',
      ],
    ],
    [
      'a shell in a clean image is not raised by unfixable vulnerabilities',
      shell,
      context({ workloads: [workload()], vulnerabilities: [vulnerable[2]] }),
      50,
      [
        '+5 low severity',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
      ],
    ],
    [
      'a critical detection in an internet-facing production pod is an incident on its own',
      dropAndExecute,
      context({ workloads: [workload()] }),
      80,
      [
        '+35 critical severity',
        '+10 running in prod-eu-1/prod-shop Deployment checkout',
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
      ],
    ],
    [
      'an info finding with no context scores 0 and says nothing',
      { kind: 'misconfiguration', severity: 'info', fixable: true, rule: { id: 'DS026' } },
      context({}),
      0,
      [],
    ],
  ])('%s', (_name, finding, ctx, score, reasons) => {
    const risk = scoreRisk(finding, ctx, config, now);
    expect(risk.reasons).toEqual(reasons);
    expect(risk.score).toBe(score);
  });

  it('names the workload that gave the score', () => {
    const prod = workload();
    expect(scoreRisk(opensslCritical, context({ workloads: [devTwin, prod] }), config, now).workload?.id).toBe(prod.id);
    expect(scoreRisk(opensslCritical, context({}), config, now).workload).toBeUndefined();
  });

  it('follows the configured weights and environments', () => {
    const custom = riskConfigSchema.parse({ weights: { internetFacing: 40 }, environments: { prod: 30 } });
    const risk = scoreRisk(shell, context({ workloads: [workload({ environment: 'prod' })] }), custom, now);
    expect(risk.reasons).toContain('+40 internet-facing via Ingress prod-shop/checkout');
    expect(risk.reasons).toContain('+30 prod environment');
    expect(risk.score).toBe(85);
  });

  it.each([
    [0, '0 min ago'],
    [4 * 60_000, '4 min ago'],
    [3 * 3_600_000, '3 h ago'],
    [3 * 86_400_000, '3 d ago'],
    [-5_000, '0 min ago'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatAgo(ms)).toBe(text);
  });
});
