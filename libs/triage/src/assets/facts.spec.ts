import { describe, expect, it } from 'vitest';
import { parseMatcher, type WorkloadAsset } from '@klaxon/findings';
import { environmentOf, exposureOf, imageRef, ownersOf, privilegesOf, workloadFactsOf, type NamespaceView } from './facts';

const D = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const podLabels = { 'app.kubernetes.io/name': 'checkout' };

function deployment(overrides: Partial<WorkloadAsset> = {}): WorkloadAsset {
  return {
    type: 'workload',
    cluster: 'prod-eu-1',
    namespace: 'prod-shop',
    kind: 'Deployment',
    name: 'checkout',
    labels: { 'app.kubernetes.io/part-of': 'shop' },
    podLabels,
    containers: [{ name: 'checkout', image: 'harbor.example.com/shop/checkout:1.4.2' }],
    observedAt: '2026-11-23T10:00:00Z',
    ...overrides,
  };
}

const view = (v: Partial<NamespaceView>): NamespaceView => ({ services: [], ingresses: [], ...v });
const service = (serviceType: string, selector: Record<string, string> = podLabels) => ({ name: 'checkout', serviceType, selector });

describe('reading cluster facts', () => {
  it.each<[string, NamespaceView, string[]]>([
    ['a ClusterIP Service alone is internal', view({ services: [service('ClusterIP')] }), []],
    ['a LoadBalancer Service selecting its pods exposes it', view({ services: [service('LoadBalancer')] }), ['Service prod-shop/checkout (LoadBalancer)']],
    ['a NodePort Service exposes it', view({ services: [service('NodePort')] }), ['Service prod-shop/checkout (NodePort)']],
    ['a LoadBalancer selecting other pods does not', view({ services: [service('LoadBalancer', { app: 'orders' })] }), []],
    ['an empty selector selects nothing (a Service with manual endpoints)', view({ services: [service('LoadBalancer', {})] }), []],
    [
      'an Ingress to a ClusterIP Service that selects it exposes it',
      view({ services: [service('ClusterIP')], ingresses: [{ name: 'shop', services: ['checkout'] }] }),
      ['Ingress prod-shop/shop'],
    ],
    ['an Ingress to a Service that does not exist exposes nothing', view({ ingresses: [{ name: 'shop', services: ['checkout'] }] }), []],
  ])('%s', (_name, ns, via) => {
    expect(exposureOf(workloadFactsOf(deployment()), ns)).toEqual(via);
  });

  it('names privileges from the pod spec, and only an explicit uid 0 as root', () => {
    const facts = workloadFactsOf(
      deployment({
        containers: [
          { name: 'checkout', image: 'x', security: { privileged: true } },
          { name: 'sidecar', image: 'y', security: { runAsUser: 0 } },
        ],
        security: { hostNetwork: true, hostPaths: ['/var/run/docker.sock'], capabilitiesAdded: ['NET_ADMIN', 'CHOWN'] },
      }),
    );
    expect(privilegesOf(facts)).toEqual(['privileged', 'container sidecar runs as root', 'hostNetwork', 'hostPath /var/run/docker.sock', 'CAP_NET_ADMIN']);
    expect(privilegesOf(workloadFactsOf(deployment({ security: { hostPaths: [], capabilitiesAdded: [], runAsNonRoot: true } })))).toEqual([]);
  });

  it('reads the environment from the namespace name or its labels, first match wins', () => {
    const environments = [
      { match: [parseMatcher('namespace.labels.environment = staging')], environment: 'staging' },
      { match: [parseMatcher('namespace =~ prod-.*')], environment: 'production' },
    ];
    const facts = workloadFactsOf(deployment());
    expect(environmentOf(facts, view({}), environments)).toBe('production');
    expect(environmentOf(facts, view({ facts: { labels: { environment: 'staging' } } }), environments)).toBe('staging');
    expect(environmentOf(workloadFactsOf(deployment({ namespace: 'tools' })), view({}), environments)).toBeUndefined();
  });

  it('takes owners from the workload first, then its namespace', () => {
    const owners = ownersOf(workloadFactsOf(deployment()), view({ facts: { labels: { team: 'payments', 'app.kubernetes.io/part-of': 'platform' } } }), [
      'team',
      'owner',
      'app.kubernetes.io/part-of',
    ]);
    expect(owners).toEqual({ team: 'payments', 'app.kubernetes.io/part-of': 'shop' });
  });

  it('keeps a Pod under the Deployment that owns it, with the digest its status names', () => {
    const pod = workloadFactsOf(
      deployment({
        kind: 'Pod',
        name: 'checkout-7d9c5b6f4-x2k8p',
        controller: { kind: 'Deployment', name: 'checkout', derived: true },
        containers: [{ name: 'checkout', image: 'harbor.example.com/shop/checkout:1.4.2', digest: D }],
      }),
    );
    expect(pod.id).toBe('prod-eu-1/prod-shop/Deployment/checkout');
    expect(pod.images).toEqual([{ container: 'checkout', repository: 'shop/checkout', tag: '1.4.2', digest: D, linkedBy: 'digest' }]);
  });

  it.each([
    ['harbor.example.com/shop/checkout:1.4.2', { repository: 'shop/checkout', tag: '1.4.2' }],
    [`harbor.example.com:5000/shop/checkout@${D}`, { repository: 'shop/checkout', digest: D }],
    ['alpine:3.20', { repository: 'alpine', tag: '3.20' }],
    ['library/alpine', { repository: 'library/alpine' }],
  ])('splits the image reference %s', (ref, expected) => {
    expect(imageRef(ref)).toMatchObject(expected);
  });
});
