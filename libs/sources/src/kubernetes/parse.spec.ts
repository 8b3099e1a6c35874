import { assetSchema, type IngressAsset, type NamespaceAsset, type ServiceAsset, type WorkloadAsset } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { IgnoredInput } from '../source';
import { DIGEST, fixture, meta, parseError } from '../../../../test/support/fixtures';
import { kubernetesParser } from './parse';
import { deploymentOfPod } from './object';

const parse = (raw: string) => kubernetesParser.parse(raw, meta({ cluster: 'prod-eu-1' }, 'collector:kubernetes'));
const one = <T>(name: string) => parse(fixture('kubernetes', name)).assets[0] as T;

describe('kubernetes parser', () => {
  it('states a Deployment as a workload with its images and pod security facts', () => {
    const deployment = one<WorkloadAsset>('deployment-checkout.json');
    expect(() => assetSchema.parse(deployment)).not.toThrow();
    expect(deployment).toMatchObject({
      type: 'workload',
      cluster: 'prod-eu-1',
      namespace: 'prod-shop',
      kind: 'Deployment',
      name: 'checkout',
      labels: { team: 'payments' },
      podLabels: { 'app.kubernetes.io/name': 'checkout', team: 'payments' },
      security: {
        privileged: true,
        hostPaths: ['/var/run/docker.sock'],
        runAsNonRoot: true,
        runAsUser: 10001,
        serviceAccount: 'checkout',
        capabilitiesAdded: ['NET_ADMIN'],
      },
    });
    expect(deployment.containers[0]).toEqual({
      name: 'checkout',
      image: 'harbor.example.com/shop/checkout:1.4.2',
      security: { privileged: true, allowPrivilegeEscalation: true, runAsNonRoot: true, runAsUser: 10001, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
    });
    expect(deployment.containers[1].security).toMatchObject({ runAsUser: 1337, readOnlyRootFilesystem: true });
  });

  it('states a Pod with the image digests it runs and the Deployment that owns it', () => {
    const pod = one<WorkloadAsset>('pod-checkout.json');
    expect(pod).toMatchObject({ kind: 'Pod', name: 'checkout-7d9c5b6f4-x2k8p', controller: { kind: 'Deployment', name: 'checkout' } });
    expect(pod.controller!.derived).toBeUndefined();
    expect(pod.containers.map((c) => c.digest)).toEqual([DIGEST, 'sha256:1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001']);
  });

  it('states Services, Ingresses and namespace labels as exposure facts', () => {
    expect(one<ServiceAsset>('service-checkout.json')).toMatchObject({
      type: 'service',
      serviceType: 'LoadBalancer',
      selector: { 'app.kubernetes.io/name': 'checkout' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 31380, protocol: 'TCP' }],
      externalAddresses: ['a1b2c3-prod-shop.elb.eu-west-1.amazonaws.com'],
    });
    expect(one<IngressAsset>('ingress-checkout.json')).toMatchObject({
      type: 'ingress',
      namespace: 'prod-shop',
      name: 'checkout',
      ingressClassName: 'nginx',
      hosts: ['shop.example.com'],
      tls: true,
      backends: [
        { service: 'checkout', port: 80, host: 'shop.example.com', path: '/checkout' },
        { service: 'checkout-metrics', port: 'metrics', host: 'shop.example.com', path: '/metrics-ünïcode' },
      ],
    });
    expect(one<NamespaceAsset>('namespace-prod-shop.json')).toMatchObject({
      type: 'namespace',
      name: 'prod-shop',
      labels: { environment: 'production', team: 'payments', owner: 'jane.doe' },
    });
  });

  it('reads a List of every kind, skipping kinds it does not read', () => {
    const list = parse(fixture('kubernetes', 'cluster-list.json'));
    const kinds = list.assets.map((a) => (a.type === 'workload' ? a.kind : a.type));
    expect(kinds).toEqual(['namespace', 'namespace', 'Deployment', 'StatefulSet', 'DaemonSet', 'Pod', 'Pod', 'service', 'service', 'ingress']);
    const [sts, ds] = list.assets.filter((a): a is WorkloadAsset => a.type === 'workload' && ['StatefulSet', 'DaemonSet'].includes(a.kind));
    expect(sts.security).toMatchObject({ hostNetwork: true, privileged: false });
    expect(sts.containers[0].digest).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(ds.security).toMatchObject({ hostPID: true, privileged: true, hostPaths: ['/proc', '/'], capabilitiesAdded: ['SYS_ADMIN', 'SYS_PTRACE'] });
    const bare = list.assets.find((a): a is WorkloadAsset => a.type === 'workload' && a.name.startsWith('debug-'))!;
    expect(bare.controller).toEqual({ kind: 'Deployment', name: 'debug', derived: true });
    expect((list.assets.find((a) => a.type === 'service' && a.name === 'checkout-metrics') as ServiceAsset).serviceType).toBe('ClusterIP');
  });

  it('marks assets deleted on a watch DELETED event', () => {
    const deleted = parse(JSON.stringify({ type: 'DELETED', object: JSON.parse(fixture('kubernetes', 'service-checkout.json')) }));
    expect(deleted.assets[0]).toMatchObject({ type: 'service', name: 'checkout', deleted: true });
  });

  it('acknowledges kinds it does not read, and rejects broken objects naming the field', () => {
    expect(() => parse(fixture('kubernetes', 'configmap.json'))).toThrow(IgnoredInput);
    expect(parseError(() => parse(fixture('kubernetes', 'deployment-missing-containers.json'))).path).toBe('spec.template.spec.containers');
    expect(parseError(() => parse('{"type":"BOOKMARK","object":{}}')).path).toBe('type');
    expect(detectFormat(fixture('kubernetes', 'deployment-checkout.json'))).toBe('kubernetes');
    expect(detectFormat(fixture('kubernetes', 'cluster-list.json'))).toBe('kubernetes');
    expect(detectFormat(fixture('policyreport', 'empty.json'))).toBe('policyreport');
  });

  it('derives a Deployment name only from pod names of the ReplicaSet shape', () => {
    expect(deploymentOfPod('checkout-7d9c5b6f4-x2k8p')).toBe('checkout');
    expect(deploymentOfPod('orders-db-0')).toBeUndefined();
    expect(deploymentOfPod('node-agent-x2k8p')).toBeUndefined();
  });
});
