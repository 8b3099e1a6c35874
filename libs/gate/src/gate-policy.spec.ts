import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '@klaxon/findings';
import { configSchema, exceptionSchema } from '@klaxon/platform';
import { parserFor, type ReportContext } from '@klaxon/sources';
import { evaluateGate, fixCommand } from './gate-policy';

const findings: Finding[] = parserFor('trivy')!.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/trivy/image-checkout.json'), 'utf8'), {
  eventId: 'gate',
  receivedAt: '2025-01-10T00:00:00.000Z',
  integration: 'gate',
  context: { repo: 'acme/checkout', pr: 42 } as ReportContext,
}).findings;
const now = new Date('2025-01-10T00:00:00Z');
const policy = (gate: unknown) => configSchema.parse({ routes: {}, gate }).gate;
const vuln = (id: string, pkg: string) => findings.find((f) => f.rule.id === id && f.package?.name === pkg)!;

describe('evaluateGate', () => {
  it('fails on risk above N and says which facts made the risk', () => {
    const risky = { ...vuln('CVE-2023-45853', 'zlib1g'), risk: { score: 91, reasons: ['+20 internet-facing via Ingress shop/checkout'] } };
    const result = evaluateGate([risky], policy({ failOnRiskAbove: 80 }), [], [], now);
    expect(result.pass).toBe(false);
    expect(result.reasons[0]).toContain('risk 91 is above 80 (+20 internet-facing via Ingress shop/checkout)');
    expect(evaluateGate([{ ...risky, risk: { score: 80, reasons: [] } }], policy({ failOnRiskAbove: 80 }), [], [], now).pass).toBe(true);
  });

  it('passes with nothing to say when no policy is configured', () => {
    expect(evaluateGate(findings, policy({}), [], [], now)).toMatchObject({ pass: true, findings: [], summary: { failed: 0, warned: 0 } });
  });

  it('honours a permanent exception and lists how many findings it let through', () => {
    const permanent = exceptionSchema.parse({
      id: 'node-deps',
      match: ['package.ecosystem = node-pkg'],
      reason: 'vendored, rebuilt monthly',
      owner: 'team-checkout',
      permanent: true,
    });
    const result = evaluateGate(findings, policy({ failOn: ['fixable = true', 'severity >= high', 'package.ecosystem = node-pkg'] }), [permanent], [], now);
    expect(result.pass).toBe(true);
    expect(result.exceptions).toEqual([expect.objectContaining({ id: 'node-deps', permanent: true, findings: result.summary.excepted })]);
    expect(result.summary.excepted).toBeGreaterThan(1);
    expect(result.reasons.find((r) => r.startsWith('EXCEPTED'))).toContain('excepted by "node-deps" (team-checkout, permanent)');
  });

  it('adds warnOn warnings to findings that do not fail', () => {
    const result = evaluateGate(
      findings,
      policy({ failOn: ['fixable = true', 'severity >= critical'], warnOn: ['severity >= high'], warnOnUnfixable: false }),
      [],
      [],
      now,
    );
    expect(result.findings.filter((f) => f.verdict === 'warn').every((f) => f.severity === 'high' || (f.severity === 'critical' && !f.fixable))).toBe(true);
    expect(result.summary.warned).toBeGreaterThan(0);
  });

  it.each([
    ['debian', 'openssl', '3.0.13-1~deb12u1', 'apt-get install -y --only-upgrade openssl'],
    ['alpine', 'busybox', '1.36.1-r7', 'apk upgrade --no-cache busybox'],
    ['node-pkg', 'path-to-regexp', '1.9.0, 0.1.10', 'npm install path-to-regexp@1.9.0'],
    ['gomod', 'golang.org/x/net', 'v0.23.0', 'go get golang.org/x/net@v0.23.0'],
    ['python-pkg', 'requests', '2.32.0', "pip install 'requests>=2.32.0'"],
    ['cargo', 'openssl', '0.10.66', 'cargo update -p openssl --precise 0.10.66'],
    ['jar', 'org.apache.logging.log4j:log4j-core', '2.17.1', 'set org.apache.logging.log4j:log4j-core to 2.17.1 in pom.xml'],
  ])('tells a %s user how to move %s to %s', (ecosystem, name, fixed, expected) => {
    expect(fixCommand({ package: { name, ecosystem, fixed } })).toContain(expected);
  });
});
