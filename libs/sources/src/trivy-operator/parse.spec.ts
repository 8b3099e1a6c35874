import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { IgnoredInput } from '../source';
import { DIGEST, fixture, meta, parseError } from '../../../../test/support/fixtures';
import { trivyParser } from '../trivy/parse';
import { configAuditScopeKey, imageVulnerabilityScopeKey, trivyOperatorParser } from './parse';

const VULNS = fixture('trivy-operator', 'vulnerabilityreport-checkout.json');
const AUDIT = fixture('trivy-operator', 'configauditreport-checkout.json');
const parse = (raw: string) => trivyOperatorParser.parse(raw, meta({ cluster: 'prod-eu-1' }, 'collector:kubernetes'));

describe('trivy-operator parser: VulnerabilityReport', () => {
  const batch = parse(VULNS);
  const raw = JSON.parse(VULNS).report.vulnerabilities as any[];

  it('turns every vulnerability into a finding on the image and the workload that runs it', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.findings).toHaveLength(raw.length);
    const bySeverity = batch.findings.reduce<Record<string, number>>((acc, f) => ({ ...acc, [f.severity]: (acc[f.severity] ?? 0) + 1 }), {});
    expect(bySeverity).toEqual({ critical: 2, high: 2, medium: 1, low: 2, info: 1 });
    expect(batch.findings[0]).toMatchObject({
      kind: 'vulnerability',
      stage: 'deploy',
      source: { tool: 'trivy-operator', integration: 'collector:kubernetes', toolVersion: '0.57.1' },
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'ReplicaSet', name: 'checkout-7d9c5b6f4', container: 'checkout' },
      package: { name: 'golang.org/x/crypto', installed: 'v0.21.0', fixed: '0.31.0', ecosystem: 'gobinary', purl: 'pkg:golang/golang.org/x/crypto@v0.21.0' },
      rule: { id: 'CVE-2024-45337', cvss: 9.1, references: ['https://avd.aquasec.com/nvd/cve-2024-45337'] },
      fixable: true,
      observedAt: '2026-11-23T09:30:00Z',
    });
  });

  it('marks vulnerabilities without a fixed version unfixable, and copes with missing titles and scores', () => {
    expect(batch.findings.filter((f) => f.fixable)).toHaveLength(raw.filter((v) => v.fixedVersion).length);
    const unknown = batch.findings.find((f) => f.rule.id === 'CVE-2024-28757')!;
    expect(unknown).toMatchObject({ severity: 'info', toolSeverity: 'UNKNOWN', fixable: false, title: 'CVE-2024-28757 in libexpat1' });
    expect(unknown.rule.cvss).toBeUndefined();
    expect(unknown.description!.length).toBe(6000);
    expect(batch.findings.find((f) => f.rule.id === 'TEMP-0841856-B18BAF')!.title).toContain('特权');
  });

  it('meets the CI Trivy finding of the same CVE, package and repository in one fingerprint', () => {
    const ci = trivyParser.parse(fixture('trivy', 'image-checkout.json'), meta());
    const ciSsl = ci.findings.find((f) => f.rule.id === 'CVE-2024-5535' && f.package?.name === 'libssl3')!;
    expect(batch.findings.find((f) => f.rule.id === 'CVE-2024-5535')!.fingerprint).toBe(ciSsl.fingerprint);
  });

  it('is complete for the image digest, states the image as an asset, and an empty report resolves', () => {
    expect(batch.scopes).toEqual([{ key: imageVulnerabilityScopeKey(DIGEST), kinds: ['vulnerability'], reportedAt: '2026-11-23T09:30:00Z' }]);
    expect(batch.assets).toEqual([expect.objectContaining({ type: 'image', digest: DIGEST, repository: 'shop/checkout', tags: ['1.4.2'] })]);
    const empty = parse(fixture('trivy-operator', 'vulnerabilityreport-empty.json'));
    expect(empty.findings).toEqual([]);
    expect(empty.scopes.map((sc) => sc.key)).toEqual(batch.scopes.map((sc) => sc.key));
    // The image may run elsewhere: a deleted report resolves nothing.
    expect(parse(JSON.stringify({ type: 'DELETED', object: JSON.parse(VULNS) })).scopes).toEqual([]);
  });
});

describe('trivy-operator parser: ConfigAuditReport', () => {
  const batch = parse(AUDIT);
  const checks = JSON.parse(AUDIT).report.checks as any[];
  const RESOURCE = { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' };

  it('turns failed checks into misconfiguration findings on the resource, with remediation', () => {
    expect(batch.findings).toHaveLength(checks.filter((c) => !c.success).length);
    const privileged = batch.findings.find((f) => f.rule.id === 'KSV017')!;
    expect(privileged).toMatchObject({
      kind: 'misconfiguration',
      severity: 'high',
      workload: RESOURCE,
      remediation: "Change 'containers[].securityContext.privileged' to 'false'.",
    });
    expect(privileged.raw).toMatchObject({ scope: { type: 'Container', value: 'checkout' } });
    expect(batch.findings.find((f) => f.rule.id === 'KSV110')!.remediation).toBeUndefined();
  });

  it('is complete for its resource: a deletion resolves every check', () => {
    expect(batch.scopes).toEqual([{ key: configAuditScopeKey(RESOURCE), kinds: ['misconfiguration'], reportedAt: '2026-11-23T09:31:00Z' }]);
    const deleted = parse(JSON.stringify({ type: 'DELETED', object: JSON.parse(AUDIT) }));
    expect(deleted).toEqual({ findings: [], assets: [], scopes: batch.scopes });
  });

  it('is detected; acknowledges report kinds it does not read; rejects a report that does not name its resource', () => {
    expect(detectFormat(AUDIT)).toBe('trivy-operator');
    expect(detectFormat(VULNS)).toBe('trivy-operator');
    expect(() => parse(fixture('trivy-operator', 'exposedsecretreport.json'))).toThrow(IgnoredInput);
    expect(parseError(() => parse(fixture('trivy-operator', 'missing-labels.json'))).path).toBe('metadata.labels["trivy-operator.resource.kind"]');
    const badCheck = JSON.parse(AUDIT);
    delete badCheck.report.checks[2].success;
    expect(parseError(() => parse(JSON.stringify(badCheck))).path).toBe('report.checks[2].success');
  });
});
