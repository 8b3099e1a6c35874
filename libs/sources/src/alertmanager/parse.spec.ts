import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { fixture, meta, parseError } from '../../../../test/support/fixtures';
import { alertmanagerParser, groupScopeKey } from './parse';

const FIRING = fixture('alertmanager', 'firing.json');
const parse = (raw: string) => alertmanagerParser.parse(raw, meta({}, 'webhook:alertmanager'));

describe('alertmanager parser', () => {
  const batch = parse(FIRING);

  it('turns firing alerts into runtime findings, the payload being complete for its group', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.findings).toHaveLength(2);
    const doc = JSON.parse(FIRING);
    expect(batch.scopes).toEqual([{ key: groupScopeKey('klaxon', doc.groupKey), kinds: ['runtime'] }]);
  });

  it('reads severity, workload and runbook from the labels and annotations', () => {
    const [crash, falco] = batch.findings;
    expect(crash).toMatchObject({
      kind: 'runtime',
      severity: 'medium',
      toolSeverity: 'warning',
      title: 'Pod is crash looping.',
      rule: { id: 'KubePodCrashLooping', references: [expect.stringContaining('runbooks'), expect.stringContaining('prometheus.example.com')] },
      workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c5b6f4-x2k8p', container: 'checkout' },
      labels: { alertname: 'KubePodCrashLooping', 'alertmanager.fingerprint': '8c1f3a5e7b9d2c4f', 'workload.derived': 'deployment name from the pod name' },
      observedAt: '2026-11-23T10:00:00.000Z',
    });
    expect(crash.remediation).toBe('Runbook: https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping');
    expect(falco).toMatchObject({
      severity: 'critical',
      workload: { kind: 'Deployment', name: 'checkout' },
      artifact: { repository: 'shop/checkout', tag: '1.4.2' },
    });
    expect(falco.title).toContain('严重');
    expect(falco.description!.length).toBe(3000);
    expect(falco.labels['workload.derived']).toBeUndefined();
  });

  it('leaves an alert that resolved out of the group, so triage resolves it', () => {
    const resolved = parse(fixture('alertmanager', 'resolved.json'));
    expect(resolved.findings.map((f) => f.rule.id)).toEqual(['FalcoCriticalEvents']);
    expect(resolved.findings[0].fingerprint).toBe(batch.findings[1].fingerprint);
    expect(resolved.scopes).toEqual(batch.scopes);
  });

  it('declares no scope for a truncated payload, which is not the whole group', () => {
    expect(parse(JSON.stringify({ ...JSON.parse(FIRING), truncatedAlerts: 3 })).scopes).toEqual([]);
  });

  it('labels alerts without a fingerprint (older Alertmanager) with a hash of their labels', () => {
    const doc = JSON.parse(FIRING);
    delete doc.alerts[0].fingerprint;
    const [a] = parse(JSON.stringify(doc)).findings;
    expect(a.labels['alertmanager.fingerprint']).toMatch(/^[0-9a-f]{16}$/);
    expect(parse(JSON.stringify(doc)).findings[0].labels['alertmanager.fingerprint']).toBe(a.labels['alertmanager.fingerprint']);
  });

  it('is detected, and rejects other versions and alerts without labels naming the field', () => {
    expect(detectFormat(FIRING)).toBe('alertmanager');
    expect(parseError(() => parse(fixture('alertmanager', 'version-3.json'))).path).toBe('version');
    expect(parseError(() => parse(fixture('alertmanager', 'missing-labels.json'))).path).toBe('alerts[0].labels');
    // A group with no alerts left: nothing fires, everything of the group resolves.
    expect(parse(JSON.stringify({ ...JSON.parse(FIRING), alerts: [] }))).toEqual({ findings: [], assets: [], scopes: batch.scopes });
  });
});
