import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadShippedRules } from '@klaxon/feedback';
import type { WorkloadAsset } from '@klaxon/findings';
import { parseConfig } from '@klaxon/destinations';
import { parserFor } from '@klaxon/sources';
import { privilegesOf, workloadFactsOf } from '@klaxon/triage';
import { WATCHED_RESOURCES } from '../../apps/collector/src/kubernetes/resources';

const base = resolve(__dirname, '../../deploy/kubernetes');
const APPS = ['gateway', 'collector', 'pipeline', 'notifier'];

/** The Kubernetes OpenAPI schema of each kind the base may hold, by apiVersion and kind. */
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  envFrom?: { secretRef?: { name: string } }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; emptyDir?: object; configMap?: { name: string } }[];
}
type DeploymentObject = K8sObject & { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

const kustomization = parse(readFileSync(join(base, 'kustomization.yaml'), 'utf8')) as {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  images: { name: string; newTag?: string; digest?: string }[];
};
const objects: K8sObject[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(base, file), 'utf8')).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as K8sObject;
  }),
);
const deployments = objects.filter((o): o is DeploymentObject => o.kind === 'Deployment');
const deployment = (app: string) => deployments.find((d) => d.metadata.name === `klaxon-${app}`)!;
const podSpec = (app: string) => deployment(app).spec.template.spec;
const configFile = kustomization.configMapGenerator.find((g) => g.name === 'klaxon-config')!.files[0]!;

describe('deploy/kubernetes, the Kustomize base', () => {
  it('lists every manifest beside it, and each object is valid against the Kubernetes schema of its kind', () => {
    const yamlFiles = readdirSync(base).filter((f) => f.endsWith('.yaml'));
    expect(yamlFiles.sort()).toEqual(['kustomization.yaml', configFile, ...kustomization.resources].sort());
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${object.apiVersion} ${object.kind} ${object.metadata.name}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check catches a misspelt or mistyped field', () => {
    const broken = structuredClone(deployment('gateway'));
    (broken.spec.template.spec.containers[0]!.securityContext as Record<string, unknown>).runAsNonRoot = 'yes';
    expect(() => new Deployment(broken as never).validate()).toThrow(/runAsNonRoot/);
  });

  it('runs the four apps, each its own Deployment of the one image, the gateway behind a Service', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(APPS.map((a) => `klaxon-${a}`).sort());
    for (const app of APPS) {
      const [container] = podSpec(app).containers;
      expect(container!.image, app).toBe('klaxon');
      expect(container!.args, app).toEqual(['start', app]);
    }
    const image = kustomization.images.find((i) => i.name === 'klaxon')!;
    expect(image.newTag ?? image.digest).toMatch(/^(\d+\.\d+\.\d+|sha256:[0-9a-f]{64})$/);

    const service = objects.find((o) => o.kind === 'Service') as K8sObject & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } };
    expect(deployment('gateway').spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(podSpec('gateway').containers[0]).toMatchObject({ ports: [{ name: service.spec.ports[0]!.targetPort, containerPort: 8080 }] });
    expect(podSpec('gateway').containers[0]).toMatchObject({
      readinessProbe: { httpGet: { path: '/readyz' } },
      livenessProbe: { httpGet: { path: '/healthz' } },
    });
  });

  it('gives every container a hardened securityContext, resources, a writable /tmp and nothing else writable', () => {
    for (const app of APPS) {
      const spec = podSpec(app);
      expect(spec.securityContext, app).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.securityContext!.runAsUser, app).toBeGreaterThan(0);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        expect(c.securityContext, app).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.securityContext!.capabilities, app).not.toHaveProperty('add');
        expect(c.resources?.requests, app).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(c.resources?.limits, app).toMatchObject({ memory: expect.any(String) });
        const writable = (c.volumeMounts ?? []).filter((m) => !m.readOnly);
        expect(
          writable.map((m) => m.mountPath),
          app,
        ).toEqual(['/tmp']);
        expect(spec.volumes!.find((v) => v.name === writable[0]!.name)!.emptyDir, app).toBeDefined();
      }
    }
  });

  it('passes Klaxon’s own hardening suggestions: every securityContext change of the shipped rules is already made', () => {
    const rules = loadShippedRules().filter((r) => r.changes.securityContext);
    expect(rules.map((r) => r.id)).toEqual(expect.arrayContaining(['read-only-root-filesystem', 'drop-privileges']));
    for (const app of APPS) {
      const container = podSpec(app).containers[0]!;
      for (const rule of rules) {
        expect(container.securityContext, `${app}: ${rule.id}`).toMatchObject(rule.changes.securityContext!);
        const mounted = (container.volumeMounts ?? []).map((m) => m.mountPath);
        expect(mounted, `${app}: ${rule.id}`).toEqual(expect.arrayContaining(rule.changes.emptyDirs));
      }
    }
  });

  it('reads as an unprivileged workload to Klaxon’s own collector and risk model', () => {
    const kubernetes = parserFor('kubernetes')!;
    const meta = { eventId: 'deploy', receivedAt: '2026-01-01T00:00:00Z', integration: 'collector:kubernetes', context: {} };
    for (const app of APPS) {
      const batch = kubernetes.parse(JSON.stringify({ ...deployment(app), metadata: { ...deployment(app).metadata, namespace: 'klaxon' } }), meta);
      const asset = batch.assets.find((a) => a.type === 'workload') as WorkloadAsset;
      expect(asset, app).toBeDefined();
      expect(privilegesOf(workloadFactsOf(asset)), app).toEqual([]);
      expect(asset.containers[0]!.security, app).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
  });

  it('lets the collector get, list and watch exactly what it watches, and nothing to the other apps', () => {
    const role = objects.find((o) => o.kind === 'ClusterRole') as K8sObject & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    for (const rule of role.rules) expect(rule.verbs.sort()).toEqual(['get', 'list', 'watch']);
    const granted = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`))).sort();
    // /api/v1/pods → "/pods" (the core group is ""), /apis/apps/v1/deployments → "apps/deployments".
    const watched = WATCHED_RESOURCES.map((w) => {
      const parts = w.path.split('/').filter(Boolean);
      return parts[0] === 'api' ? `/${parts[2]}` : `${parts[1]}/${parts[3]}`;
    }).sort();
    expect(granted).toEqual(watched);
    expect(granted).toEqual(
      expect.arrayContaining([
        '/pods',
        'apps/deployments',
        'networking.k8s.io/ingresses',
        'wgpolicyk8s.io/clusterpolicyreports',
        'aquasecurity.github.io/configauditreports',
      ]),
    );

    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as K8sObject & {
      roleRef: { name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: podSpec('collector').serviceAccountName, namespace: kustomization.namespace }]);
    expect(objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name).toBe(podSpec('collector').serviceAccountName);
    for (const app of ['gateway', 'pipeline', 'notifier']) {
      expect(podSpec(app).serviceAccountName, app).toBeUndefined();
      expect(podSpec(app).automountServiceAccountToken, app).toBe(false);
    }
  });

  it('takes its config from the generated ConfigMap, valid for Klaxon, and its secrets and Redis URL from the Secret', () => {
    const env = { REDIS_URL: 'redis://:pw@redis.klaxon.svc:6379', KLAXON_API_TOKEN: 'token' };
    const config = parseConfig(readFileSync(join(base, configFile), 'utf8'), env, configFile);
    expect(config.redis.url).toBe(env.REDIS_URL);
    expect(config.auth.apiToken).toBe(env.KLAXON_API_TOKEN);
    expect(config.sources.kubernetes).toMatchObject({ enabled: true });
    expect(config.sources.kubernetes?.kubeconfig).toBeUndefined();

    for (const app of APPS) {
      const spec = podSpec(app);
      const container = spec.containers[0]!;
      expect(container.envFrom, app).toEqual([{ secretRef: { name: 'klaxon' } }]);
      expect(container).toMatchObject({ env: expect.arrayContaining([{ name: 'KLAXON_CONFIG', value: `/etc/klaxon/${configFile}` }]) });
      const mount = container.volumeMounts!.find((m) => m.mountPath === '/etc/klaxon')!;
      expect(mount.readOnly, app).toBe(true);
      expect(spec.volumes!.find((v) => v.name === mount.name)!.configMap, app).toEqual({ name: 'klaxon-config' });
    }
  });
});
