import { describe, expect, it } from 'vitest';
import { canonicalCheckId, fingerprintOf, type FindingDraft } from './index';

const vuln: FindingDraft = {
  kind: 'vulnerability',
  stage: 'build',
  source: { tool: 'trivy', integration: 'report' },
  title: 'CVE-2024-0727 in openssl',
  severity: 'high',
  rule: { id: 'CVE-2024-0727' },
  artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', digest: 'sha256:aaa' },
  package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
  fixable: true,
  observedAt: '2026-11-23T10:00:00Z',
};

const runtime: FindingDraft = {
  kind: 'runtime',
  stage: 'runtime',
  source: { tool: 'falco', integration: 'webhook:falco' },
  title: 'Terminal shell in container',
  severity: 'medium',
  rule: { id: 'Terminal shell in container' },
  artifact: { repository: 'shop/checkout' },
  workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c-abcde' },
  fixable: false,
  observedAt: '2026-11-23T10:00:00Z',
};

describe('fingerprints identify the problem, not the occurrence', () => {
  it('a rebuild of the same repository with the same CVE is the same vulnerability', () => {
    expect(fingerprintOf({ ...vuln, artifact: { ...vuln.artifact, digest: 'sha256:bbb' } })).toBe(fingerprintOf(vuln));
  });

  it('the same CVE seen by another tool through another registry host is the same finding', () => {
    const harbor = {
      ...vuln,
      source: { tool: 'harbor', integration: 'webhook:harbor' },
      artifact: { registry: 'core.harbor.local', repository: 'shop/checkout' },
    };
    expect(fingerprintOf(harbor)).toBe(fingerprintOf(vuln));
  });

  it('another package, CVE or repository is another vulnerability', () => {
    expect(fingerprintOf({ ...vuln, package: { name: 'libssl3' } })).not.toBe(fingerprintOf(vuln));
    expect(fingerprintOf({ ...vuln, rule: { id: 'CVE-2024-0728' } })).not.toBe(fingerprintOf(vuln));
    expect(fingerprintOf({ ...vuln, artifact: { repository: 'shop/cart' } })).not.toBe(fingerprintOf(vuln));
  });

  it('a pod restart is not a new runtime finding, another workload is', () => {
    expect(fingerprintOf({ ...runtime, workload: { ...runtime.workload, pod: 'checkout-7d9c-zzzzz' } })).toBe(fingerprintOf(runtime));
    expect(fingerprintOf({ ...runtime, workload: { ...runtime.workload, name: 'cart' } })).not.toBe(fingerprintOf(runtime));
  });

  it('kinds never collide', () => {
    expect(fingerprintOf({ ...vuln, kind: 'misconfiguration' })).not.toBe(fingerprintOf(vuln));
  });
});

describe('canonicalCheckId', () => {
  it.each([
    ['AVD-DS-0002', 'AVD-DS-0002'],
    ['DS-0002', 'AVD-DS-0002'],
    ['DS002', 'AVD-DS-0002'],
    ['ds002', 'AVD-DS-0002'],
    ['KSV014', 'AVD-KSV-0014'],
    ['AVD-KSV-0014', 'AVD-KSV-0014'],
    ['AVD-AWS-0086', 'AVD-AWS-0086'],
    ['require-ro-rootfs', 'require-ro-rootfs'],
    ['CKV_DOCKER_2', 'CKV_DOCKER_2'],
    ['CVE-2024-5535', 'CVE-2024-5535'],
  ])('%s is %s', (id, canonical) => {
    expect(canonicalCheckId(id)).toBe(canonical);
  });

  it('makes one misconfiguration of a check however Trivy spells it, and leaves policies as named', () => {
    const check = (id: string, kind: FindingDraft['kind'] = 'misconfiguration'): FindingDraft => ({ ...vuln, kind, rule: { id }, package: undefined });
    expect(fingerprintOf(check('DS002'))).toBe(fingerprintOf(check('AVD-DS-0002')));
    expect(fingerprintOf(check('DS-0002'))).toBe(fingerprintOf(check('AVD-DS-0002')));
    expect(fingerprintOf(check('DS002'))).not.toBe(fingerprintOf(check('DS026')));
    expect(fingerprintOf(check('KSV014', 'policy'))).not.toBe(fingerprintOf(check('AVD-KSV-0014', 'policy')));
  });
});
