import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { fixture, meta, parseError } from '../../../../test/support/fixtures';
import { policyReportParser, policyScopeKey } from './parse';

const REPORT = fixture('policyreport', 'kyverno-v1alpha2-prod-shop.json');
const parse = (raw: string, context: Record<string, unknown> = { cluster: 'prod-eu-1' }) => policyReportParser.parse(raw, meta(context));
const DEPLOYMENT = { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' };

describe('policyreport parser', () => {
  const batch = parse(REPORT);

  it('turns fail, warn and error results into policy findings and leaves pass and skip out', () => {
    const doc = JSON.parse(REPORT);
    const failing = doc.results.filter((r: any) => ['fail', 'warn', 'error'].includes(r.result));
    expect(batch.findings).toHaveLength(failing.length);
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.findings.map((f) => f.labels.result).sort()).toEqual(['error', 'fail', 'fail', 'warn']);
    expect(batch.findings.every((f) => f.kind === 'policy' && f.stage === 'deploy' && f.fixable)).toBe(true);
  });

  it('keeps the policy, rule, severity, category and resource of each result', () => {
    const privileged = batch.findings.find((f) => f.rule.id === 'disallow-privileged-containers/privileged-containers')!;
    expect(privileged).toMatchObject({
      severity: 'high',
      toolSeverity: 'high',
      source: { tool: 'kyverno', integration: 'report' },
      workload: DEPLOYMENT,
      rule: { name: 'disallow-privileged-containers', tags: ['Pod Security Standards (Baseline)'] },
      observedAt: '2026-11-23T09:20:00.000Z',
    });
    expect(privileged.remediation).toContain('Privileged mode is disallowed');
    expect(privileged.labels).toMatchObject({ category: 'Pod Security Standards (Baseline)', scored: 'true' });
  });

  it('gives results without a severity one from their outcome, and keeps unicode and very long messages whole', () => {
    const error = batch.findings.find((f) => f.labels.result === 'error')!;
    expect(error.severity).toBe('medium');
    expect(error.toolSeverity).toBeUndefined();
    expect(error.description!.length).toBeGreaterThan(6000);
    const hostPath = batch.findings.find((f) => f.rule.id === 'disallow-host-path/host-path')!;
    expect(hostPath.description).toContain('禁止使用 hostPath');
    expect(hostPath.workload).toMatchObject({ kind: 'Pod', name: 'checkout-7d9c5b6f4-x2k8p' });
  });

  it('takes the arrival time for a result whose timestamp no date can hold (found by the fuzz bench)', () => {
    const doc = JSON.parse(REPORT);
    doc.results[0].timestamp = { seconds: Number.MAX_SAFE_INTEGER * 4 };
    const first = parse(JSON.stringify(doc)).findings.find((f) => f.rule.id.startsWith(doc.results[0].policy));
    expect(first?.observedAt).toBe(meta({}).receivedAt);
  });

  it('declares one complete scope per resource and source, so a result that turns pass resolves', () => {
    expect(batch.scopes.map((s) => s.key).sort()).toEqual(
      [policyScopeKey(DEPLOYMENT, 'kyverno'), policyScopeKey({ ...DEPLOYMENT, kind: 'Pod', name: 'checkout-7d9c5b6f4-x2k8p' }, 'kyverno')].sort(),
    );
    expect(batch.scopes.every((s) => s.kinds.join() === 'policy')).toBe(true);
    const later = parse(fixture('policyreport', 'kyverno-v1alpha2-prod-shop-fixed.json'));
    expect(later.scopes.map((s) => s.key).sort()).toEqual(batch.scopes.map((s) => s.key).sort());
    expect(later.findings.map((f) => f.rule.id)).toEqual(['disallow-host-path/host-path']);
    // The finding that stays open keeps its fingerprint, so triage sees it unchanged.
    expect(later.findings[0].fingerprint).toBe(batch.findings.find((f) => f.rule.id === 'disallow-host-path/host-path')!.fingerprint);
  });

  it('reads v1beta1 ClusterPolicyReports whose results rely on the report scope', () => {
    const cluster = parse(fixture('policyreport', 'v1beta1-cluster-namespace.json'));
    expect(cluster.findings).toHaveLength(2);
    expect(cluster.findings[0]).toMatchObject({ severity: 'critical', workload: { cluster: 'prod-eu-1', kind: 'Namespace', name: 'prod-shop' } });
    expect(cluster.findings[0].workload!.namespace).toBeUndefined();
    expect(cluster.scopes).toEqual([{ key: 'resource:prod-eu-1//Namespace/prod-shop#policy:kyverno', kinds: ['policy'] }]);
  });

  it('resolves everything a deleted report held (a watch DELETED event)', () => {
    const deleted = parse(JSON.stringify({ type: 'DELETED', object: JSON.parse(REPORT) }));
    expect(deleted.findings).toEqual([]);
    expect(deleted.scopes.map((s) => s.key).sort()).toEqual(batch.scopes.map((s) => s.key).sort());
  });

  it('reads a List of reports, and an empty report to nothing', () => {
    const list = parse(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [JSON.parse(REPORT), JSON.parse(fixture('policyreport', 'empty.json'))] }));
    expect(list.findings).toHaveLength(batch.findings.length);
    expect(parse(fixture('policyreport', 'empty.json'))).toEqual({ findings: [], assets: [], scopes: [] });
  });

  it('is detected, and rejects what it cannot read with the field named', () => {
    expect(detectFormat(REPORT)).toBe('policyreport');
    expect(parseError(() => parse(fixture('policyreport', 'missing-policy.json'))).path).toBe('results[1].policy');
    const v1alpha1 = JSON.stringify({ ...JSON.parse(REPORT), apiVersion: 'wgpolicyk8s.io/v1alpha1' });
    expect(parseError(() => parse(v1alpha1)).path).toBe('apiVersion');
    const badResult = JSON.parse(REPORT);
    badResult.results[0].result = 'failed';
    expect(parseError(() => parse(JSON.stringify(badResult))).path).toBe('results[0].result');
    expect(parseError(() => parse('{"apiVersion":')).message).toMatch(/not valid JSON/);
  });
});

describe('policyreport parser: Pod Security Standards controls', () => {
  it('counts each Pod Security Standards policy per namespace as a control, passes and failures, other categories left out', () => {
    const doc = JSON.parse(REPORT);
    const pss = doc.results.filter((r: any) => /^Pod Security Standards/.test(r.category ?? '') && r.result !== 'skip');
    const batch = parse(REPORT);
    const controls = batch.controls!;
    expect(controls.reduce((n, c) => n + c.passed + c.failed, 0)).toBe(pss.length);
    expect(controls.every((c) => c.standard.id === 'pss-baseline' && c.namespace === 'prod-shop' && c.cluster === 'prod-eu-1')).toBe(true);
    for (const control of controls) {
      const results = pss.filter((r: any) => r.policy === control.control.id);
      expect(control.status).toBe(results.some((r: any) => r.result !== 'pass') ? 'fail' : 'pass');
      expect(control.findings).toEqual(
        batch.findings.filter((f) => f.rule.name === control.control.id && f.labels.category?.startsWith('Pod Security')).map((f) => f.fingerprint),
      );
    }
  });
});
