import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { fixture, meta, parseError } from '../../../../test/support/fixtures';
import { complianceReportScopeKey, trivyOperatorParser } from './parse';

const REPORT = fixture('trivy-operator', 'clustercompliancereport-k8s-cis.json');
const parse = (raw: string) => trivyOperatorParser.parse(raw, meta({ cluster: 'prod-eu-1' }, 'collector:kubernetes'));

describe('trivy-operator parser: ClusterComplianceReport', () => {
  const batch = parse(REPORT);

  it('reads every control of the standard, passes included, and raises one finding per failing control', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.controls!.map((c) => [c.control.id, c.status, c.passed, c.failed])).toEqual([
      ['5.2.2', 'fail', 0, 1],
      ['5.2.3', 'pass', 1, 0],
      ['5.7.3', 'fail', 0, 2],
    ]);
    expect(
      batch.controls!.every((c) => c.standard.id === 'k8s-cis-1.23' && c.standard.title === 'CIS Kubernetes Benchmarks v1.23' && c.cluster === 'prod-eu-1'),
    ).toBe(true);
    expect(batch.findings.map((f) => f.rule.id)).toEqual(['k8s-cis-1.23/5.2.2', 'k8s-cis-1.23/5.7.3']);
    const securityContext = batch.findings[1];
    expect(securityContext).toMatchObject({ kind: 'compliance', severity: 'high', workload: { cluster: 'prod-eu-1', kind: 'Cluster', name: 'prod-eu-1' } });
    expect(securityContext.remediation).toContain('runAsUser');
    expect(securityContext.description).toContain('prod-shop/Deployment/checkout');
    expect(batch.controls![2].findings).toEqual([securityContext.fingerprint]);
  });

  it('is complete for its standard on the cluster, so a control that passes again resolves', () => {
    expect(batch.scopes).toEqual([{ key: complianceReportScopeKey('prod-eu-1', 'k8s-cis-1.23'), kinds: ['compliance'] }]);
  });

  it('reads the summary form (reportType: summary) from each control totalFail', () => {
    const doc = JSON.parse(REPORT);
    doc.status = {
      updateTimestamp: '2026-11-24T10:00:00Z',
      summaryReport: {
        id: 'k8s-cis-1.23',
        controlCheck: [
          { id: '5.2.2', name: 'privileged', severity: 'HIGH', totalFail: 3 },
          { id: '5.2.3', name: 'hostPID', severity: 'HIGH', totalFail: 0 },
        ],
      },
    };
    const summary = parse(JSON.stringify(doc));
    expect(summary.controls!.map((c) => [c.control.id, c.status, c.failed])).toEqual([
      ['5.2.2', 'fail', 3],
      ['5.2.3', 'pass', 0],
    ]);
    expect(summary.findings).toHaveLength(1);
  });

  it('is detected as trivy-operator and names the field a broken report lacks', () => {
    expect(detectFormat(REPORT)).toBe('trivy-operator');
    const doc = JSON.parse(REPORT);
    delete doc.spec.compliance.id;
    expect(parseError(() => parse(JSON.stringify(doc))).path).toBe('spec.compliance.id');
  });
});
