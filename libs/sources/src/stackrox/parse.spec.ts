import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { IgnoredInput } from '../source';
import { DIGEST, fixture, meta, parseError } from '../../../../test/support/fixtures';
import { stackroxParser, stackroxScopeKey } from './parse';

const RUNTIME = fixture('stackrox', 'runtime-alert.json');
const parse = (raw: string) => stackroxParser.parse(raw, meta({}, 'webhook:stackrox'));

describe('stackrox parser', () => {
  it('turns a runtime alert into a runtime finding on the container that misbehaved', () => {
    const batch = parse(RUNTIME);
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.findings).toHaveLength(1);
    expect(batch.findings[0]).toMatchObject({
      kind: 'runtime',
      stage: 'runtime',
      severity: 'high',
      toolSeverity: 'HIGH_SEVERITY',
      title: 'Shell Spawned by Java Application in prod-shop/checkout',
      rule: { id: 'Shell Spawned by Java Application', tags: ['System Modification', 'Privileges'] },
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', container: 'checkout' },
      fixable: false,
      labels: { lifecycleStage: 'RUNTIME', 'stackrox.state': 'ACTIVE' },
    });
    expect(batch.findings[0].raw).toMatchObject({
      violations: ["Binary '/bin/sh' executed with arguments '-c id' under user ID 0"],
      processes: [{ execFilePath: '/bin/sh', args: '-c id' }],
    });
    expect(batch.scopes).toEqual([{ key: stackroxScopeKey('5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f'), kinds: ['runtime'] }]);
  });

  it('turns deploy and build alerts into fixable policy findings, even without a deployment', () => {
    const deploy = parse(fixture('stackrox', 'deploy-alert.json')).findings[0];
    expect(deploy).toMatchObject({
      kind: 'policy',
      stage: 'deploy',
      severity: 'critical',
      fixable: true,
      remediation: 'Set securityContext.privileged to false',
    });
    expect(deploy.description!.length).toBeGreaterThan(6000);
    const build = parse(fixture('stackrox', 'build-alert-no-deployment.json')).findings[0];
    expect(build).toMatchObject({
      kind: 'policy',
      stage: 'build',
      severity: 'low',
      artifact: { repository: 'library/busybox', tag: 'latest', digest: undefined },
    });
    expect(build.workload).toBeUndefined();
  });

  it('reads the enum values protojson leaves out as their zero value: DEPLOY, ACTIVE', () => {
    const raw = fixture('stackrox', 'deploy-alert-defaults-omitted.json');
    expect(JSON.parse(raw).alert).not.toHaveProperty('lifecycleStage');
    const batch = parse(raw);
    expect(batch.findings).toHaveLength(1);
    expect(batch.findings[0]).toMatchObject({ kind: 'policy', stage: 'deploy', labels: { lifecycleStage: 'DEPLOY' } });
    expect(batch.findings[0].fingerprint).toBe(parse(fixture('stackrox', 'deploy-alert.json')).findings[0].fingerprint);
    expect(detectFormat(raw)).toBe('stackrox');
  });

  it('reads an alert whose policy severity (UNSET_SEVERITY) and violation message (empty) protojson left out', () => {
    const alert = JSON.parse(fixture('stackrox', 'deploy-alert-defaults-omitted.json'));
    delete alert.alert.policy.severity;
    alert.alert.violations = [{ keyValueAttrs: { attrs: [{ key: 'Container', value: 'checkout' }] } }];
    const [finding] = parse(JSON.stringify(alert)).findings;
    expect(finding).toMatchObject({ kind: 'policy', severity: 'info', toolSeverity: undefined });
  });

  it('resolves the alert when ACS says RESOLVED', () => {
    const resolved = parse(fixture('stackrox', 'runtime-alert-resolved.json'));
    expect(resolved.findings).toEqual([]);
    expect(resolved.scopes).toEqual(parse(RUNTIME).scopes);
  });

  it('acknowledges audit messages and rejects an unknown lifecycle stage naming the field', () => {
    expect(() => parse(fixture('stackrox', 'audit-message.json'))).toThrow(IgnoredInput);
    expect(parseError(() => parse(fixture('stackrox', 'bad-stage.json'))).path).toBe('alert.lifecycleStage');
    expect(parseError(() => parse('{"something": 1}')).path).toBe('alert');
    expect(detectFormat(RUNTIME)).toBe('stackrox');
  });
});
