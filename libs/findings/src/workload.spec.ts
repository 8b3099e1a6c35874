import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Workload } from './model';
import { normalizeWorkload, ownerOf } from './workload';

describe('ownerOf', () => {
  it.each([
    ['ReplicaSet', 'checkout-7d9f8c6b5d', { kind: 'Deployment', name: 'checkout' }],
    ['ReplicaSet', 'orders-db-5b4', { kind: 'Deployment', name: 'orders-db' }],
    ['Pod', 'checkout-7d9f8c6b5d-x2x9p', { kind: 'Deployment', name: 'checkout' }],
    ['Pod', 'checkout-7d9c5b6f4-x2k8p', { kind: 'Deployment', name: 'checkout' }],
    // An all-digit pod-template-hash (FNV digits 5–9 encode as 4–9) is still a Deployment's.
    ['Pod', 'checkout-5478964785-x2x9p', { kind: 'Deployment', name: 'checkout' }],
    ['Job', 'nightly-backup-29612345', { kind: 'CronJob', name: 'nightly-backup' }],
    ['Pod', 'nightly-backup-29612345-h7kqz', { kind: 'CronJob', name: 'nightly-backup' }],
  ])('%s %s belongs to %o', (kind, name, owner) => {
    expect(ownerOf(kind, name)).toEqual({ ...owner, derived: true });
  });

  it.each([
    ['Pod', 'orders-db-0'], // a StatefulSet's ordinal: not read, the pod has no other owner to name
    ['Pod', 'node-agent-x2k8p'], // a DaemonSet's or a Job's pod: one suffix does not say which
    ['Pod', 'debug'],
    ['ReplicaSet', 'frontend'],
    ['ReplicaSet', 'web-xyz'], // x, y, z never appear in a pod-template-hash
    ['Job', 'migrate-7'],
    ['Deployment', 'checkout-7d9f8c6b5d'],
    [undefined, 'checkout-7d9f8c6b5d-x2x9p'],
  ])('%s %s is its own owner', (kind, name) => {
    expect(ownerOf(kind, name)).toBeUndefined();
  });
});

describe('normalizeWorkload', () => {
  it('names a pod by its Deployment, keeps the pod, fills the configured cluster and says it derived the name', () => {
    expect(normalizeWorkload({ namespace: 'shop', kind: 'Pod', name: 'checkout-7d9f8c6b5d-x2x9p', container: 'app' }, 'prod-eu-1')).toEqual({
      workload: { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9f8c6b5d-x2x9p', container: 'app' },
      derived: 'deployment name from the pod name',
    });
  });

  it('keeps the cluster an input names, and leaves a workload that needs nothing as it is', () => {
    const stated: Workload = { cluster: 'edge-1', namespace: 'shop', kind: 'Deployment', name: 'checkout' };
    expect(normalizeWorkload(stated, 'prod-eu-1').workload).toBe(stated);
    expect(normalizeWorkload({ namespace: 'shop', pod: 'checkout-7d9f8c6b5d-x2x9p' }).workload).toMatchObject({ kind: 'Deployment', name: 'checkout' });
  });
});

// How Kubernetes spells the names (k8s.io/apimachinery/pkg/util/rand): the hash is a uint32 in decimal,
// each digit mapped through SafeEncodeString; pod suffixes are 5 characters of the rand alphabet.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
const safeEncode = (s: string) => [...s].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');
const podTemplateHash = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((n) => safeEncode(String(n)));
const podSuffix = fc.string({ unit: fc.constantFrom(...ALPHANUMS), minLength: 5, maxLength: 5 });
const dnsLabel = fc
  .array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('-'))
  .filter((name) => /^[a-z]/.test(name));
const cluster = fc.option(fc.constantFrom('prod-eu-1', 'edge-1'), { nil: undefined });

describe('normalizeWorkload properties', () => {
  it('maps every name of one Deployment (ReplicaSet, pod, itself; with or without cluster) to that Deployment', () => {
    fc.assert(
      fc.property(dnsLabel, podTemplateHash, podSuffix, cluster, (deployment, hash, suffix, named) => {
        const variants: Workload[] = [
          { cluster: named, namespace: 'shop', kind: 'Deployment', name: deployment },
          { cluster: named, namespace: 'shop', kind: 'ReplicaSet', name: `${deployment}-${hash}` },
          { cluster: named, namespace: 'shop', kind: 'Pod', name: `${deployment}-${hash}-${suffix}` },
          { cluster: named, namespace: 'shop', pod: `${deployment}-${hash}-${suffix}` },
        ];
        for (const variant of variants) {
          const { workload } = normalizeWorkload(variant, 'prod-eu-1');
          expect({ cluster: workload.cluster, kind: workload.kind, name: workload.name }).toEqual({
            cluster: named ?? 'prod-eu-1',
            kind: 'Deployment',
            name: deployment,
          });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('normalising twice is normalising once', () => {
    const anyName = fc.oneof(
      dnsLabel,
      fc.tuple(dnsLabel, podTemplateHash, fc.option(podSuffix)).map(([d, h, s]) => [d, h, s].filter(Boolean).join('-')),
    );
    const workload = fc.record(
      {
        cluster,
        namespace: fc.constantFrom('shop', 'prod-shop'),
        kind: fc.option(fc.constantFrom('Pod', 'ReplicaSet', 'Deployment', 'Job', 'CronJob', 'StatefulSet'), { nil: undefined }),
        name: fc.option(anyName, { nil: undefined }),
        pod: fc.option(anyName, { nil: undefined }),
      },
      { requiredKeys: ['namespace'] },
    );
    fc.assert(
      fc.property(workload, fc.option(fc.constant('prod-eu-1'), { nil: undefined }), (w, configured) => {
        const once = normalizeWorkload(w, configured).workload;
        expect(normalizeWorkload(once, configured).workload).toEqual(once);
      }),
      { numRuns: 500 },
    );
  });
});
