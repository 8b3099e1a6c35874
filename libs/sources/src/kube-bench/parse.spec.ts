import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { fixture, meta, parseError } from '../../../../test/support/fixtures';
import { kubeBenchParser } from './parse';

const MASTER = fixture('kube-bench', 'master.json');
const parse = (raw: string, context: Record<string, unknown> = { cluster: 'prod-eu-1' }) => kubeBenchParser.parse(raw, meta(context));

describe('kube-bench parser', () => {
  const batch = parse(MASTER);
  const checks = JSON.parse(MASTER).Controls.flatMap((c: any) => c.tests.flatMap((t: any) => t.results));

  it('turns FAIL and WARN checks into compliance findings with their remediation text', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.findings).toHaveLength(checks.filter((c: any) => c.status === 'FAIL' || c.status === 'WARN').length);
    const etcd = batch.findings.find((f) => f.rule.id === 'cis-1.8/1.1.12')!;
    expect(etcd).toMatchObject({
      kind: 'compliance',
      severity: 'high',
      toolSeverity: 'FAIL',
      source: { tool: 'kube-bench' },
      workload: { cluster: 'prod-eu-1', kind: 'NodeType', name: 'master' },
      labels: { status: 'FAIL', scored: 'true', section: '1.1' },
    });
    expect(etcd.remediation).toContain('chown etcd:etcd /var/lib/etcd');
    expect(etcd.raw).toMatchObject({ actual_value: 'root:root', expected_result: "'etcd:etcd' is present" });
  });

  it('ranks manual WARN checks below failures and keeps unicode and long remediation', () => {
    const anonymous = batch.findings.find((f) => f.rule.id === 'cis-1.8/1.2.1')!;
    expect(anonymous).toMatchObject({ severity: 'low', labels: { status: 'WARN', scored: 'false' } });
    expect(anonymous.remediation).toContain('匿名');
    expect(batch.findings.find((f) => f.rule.id === 'cis-1.8/1.2.16')!.remediation!.length).toBeGreaterThan(6000);
  });

  it('names the node from the upload context when given', () => {
    expect(parse(MASTER, { node: 'ip-10-20-0-5' }).findings[0].workload).toMatchObject({ kind: 'Node', name: 'ip-10-20-0-5' });
  });

  it('declares the run complete for its benchmark target, so a check that now passes resolves', () => {
    expect(batch.scopes).toEqual([{ key: 'resource:prod-eu-1//NodeType/master#compliance:kube-bench:cis-1.8/1', kinds: ['compliance'] }]);
    const fixed = parse(fixture('kube-bench', 'master-fixed.json'));
    expect(fixed.scopes.map((s) => s.key)).toEqual(batch.scopes.map((s) => s.key));
    expect(fixed.findings.map((f) => f.rule.id)).not.toContain('cis-1.8/1.1.12');
    expect(fixed.findings).toHaveLength(batch.findings.length - 1);
    expect(parse(fixture('kube-bench', 'empty.json'))).toEqual({ findings: [], assets: [], scopes: [] });
  });

  it('reads the single-controls and line-per-target shapes of older releases', () => {
    const controls = JSON.parse(MASTER).Controls[0];
    expect(parse(JSON.stringify(controls)).findings).toHaveLength(batch.findings.length);
    const lines = `${JSON.stringify(controls)}\n${JSON.stringify({ ...controls, id: '2', node_type: 'etcd' })}\n`;
    expect(parse(lines).findings).toHaveLength(batch.findings.length * 2);
  });

  it('is detected, and rejects a check without a status naming it', () => {
    expect(detectFormat(MASTER)).toBe('kube-bench');
    expect(parseError(() => parse(fixture('kube-bench', 'missing-status.json'))).path).toBe('Controls[0].tests[0].results[0].status');
    expect(parseError(() => parse('{"Controls": {}}')).path).toBe('Controls');
  });
});

describe('kube-bench parser: compliance controls', () => {
  it('reports every PASS, FAIL and WARN check as a control of the CIS Kubernetes Benchmark, failures linked to their finding', () => {
    const batch = parse(MASTER);
    const checks = JSON.parse(MASTER).Controls.flatMap((c: any) => c.tests.flatMap((t: any) => t.results));
    expect(batch.controls).toHaveLength(checks.filter((c: any) => c.status !== 'INFO').length);
    expect(batch.controls!.every((c) => c.standard.id === 'cis-kubernetes' && c.cluster === 'prod-eu-1')).toBe(true);
    const passing = batch.controls!.filter((c) => c.status === 'pass');
    expect(passing.length).toBe(checks.filter((c: any) => c.status === 'PASS').length);
    expect(passing.every((c) => c.findings.length === 0 && c.passed === 1)).toBe(true);
    const failing = batch.controls!.find((c) => c.control.id === '1.1.12')!;
    expect(failing.status).toBe('fail');
    expect(failing.findings).toEqual([batch.findings.find((f) => f.rule.id === 'cis-1.8/1.1.12')!.fingerprint]);
  });
});
