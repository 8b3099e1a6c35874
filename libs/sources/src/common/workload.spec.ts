import { describe, expect, it } from 'vitest';
import { parseInput } from '../registry';
import { fixture, meta as metaOf } from '../../../../test/support/fixtures';

const CHECKOUT = { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' };

const inputs: [string, string, string, string][] = [
  ['trivy-operator', 'trivy-operator', 'vulnerabilityreport-checkout.json', 'report'], // ReplicaSet checkout-7d9c5b6f4, no cluster
  ['policyreport', 'policyreport', 'kyverno-v1alpha2-prod-shop.json', 'report'], // Deployment and Pod checkout-7d9c5b6f4-x2k8p
  ['falco', 'falco', 'events-prod-shop.ndjson', 'webhook:falco'], // pods only
  ['tetragon', 'tetragon', 'events-prod-shop.ndjson', 'webhook:tetragon'], // Tetragon names the Deployment
  ['stackrox', 'stackrox', 'runtime-alert.json', 'webhook:stackrox'], // ACS names the Deployment and its cluster
];

describe('one workload, many names', () => {
  it.each(inputs)('%s (%s) names checkout by its Deployment in the configured cluster', (format, dir, name, integration) => {
    const { batch } = parseInput(fixture(dir, name), format, {
      eventId: 'evt-1',
      receivedAt: '2026-11-23T10:00:00.000Z',
      integration,
      context: {},
      cluster: 'prod-eu-1',
    });
    const checkout = batch.findings.filter((f) => f.workload?.namespace === 'prod-shop' && f.workload.name?.startsWith('checkout'));
    expect(checkout.length).toBeGreaterThan(0);
    for (const f of checkout) expect(f.workload).toMatchObject(CHECKOUT);
  });

  it('gives the reports of a ReplicaSet and of its Deployment the same findings, with or without the cluster', () => {
    const meta = (cluster?: string) => ({ ...metaOf(cluster ? { cluster } : {}), cluster: 'prod-eu-1' });
    const report = JSON.parse(fixture('trivy-operator', 'configauditreport-checkout.json'));
    const asReplicaSet = structuredClone(report);
    asReplicaSet.metadata.labels['trivy-operator.resource.kind'] = 'ReplicaSet';
    asReplicaSet.metadata.labels['trivy-operator.resource.name'] = 'checkout-7d9f8c6b5d';
    const fingerprints = (doc: unknown, cluster?: string) =>
      parseInput(JSON.stringify(doc), 'trivy-operator', meta(cluster))
        .batch.findings.map((f) => f.fingerprint)
        .sort();
    expect(fingerprints(report).length).toBeGreaterThan(0);
    expect(fingerprints(asReplicaSet)).toEqual(fingerprints(report));
    // The collector names the cluster itself; an upload gets the configured one: the same findings.
    expect(fingerprints(asReplicaSet, 'prod-eu-1')).toEqual(fingerprints(report));
    const derived = parseInput(JSON.stringify(asReplicaSet), 'trivy-operator', meta()).batch.findings[0];
    expect(derived.labels['workload.derived']).toBe('deployment name from the replicaset name');
  });

  it('fills the configured cluster on the Kubernetes objects an upload carries', () => {
    const { batch } = parseInput(fixture('kubernetes', 'deployment-checkout.json'), 'kubernetes', {
      eventId: 'evt-1',
      receivedAt: '2026-11-23T10:00:00.000Z',
      integration: 'report',
      context: {},
      cluster: 'prod-eu-1',
    });
    expect(batch.assets[0]).toMatchObject({ type: 'workload', ...CHECKOUT });
  });
});
