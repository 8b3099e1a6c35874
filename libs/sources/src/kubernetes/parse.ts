import { ownerOf, type Asset, type ContainerSecurity, type PodSecurity, type WorkloadAsset } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { clusterOf, itemsOf, typeOf, type KubernetesItem } from './object';

// Kubernetes objects as the API server serves them (k8s.io/api apps/v1, core/v1, networking/v1), read
// for what correlation needs: which images run where, what a pod may do, and what exposes it.
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];
const READ_KINDS = [...WORKLOAD_KINDS, 'Pod', 'Service', 'Ingress', 'Namespace'];

const labels = z.record(z.string()).nullish();
const metadataSchema = z
  .object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels,
    ownerReferences: z.array(z.object({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }).passthrough()).nullish(),
  })
  .passthrough();

const securityContextSchema = z
  .object({
    privileged: z.boolean().nullish(),
    runAsNonRoot: z.boolean().nullish(),
    runAsUser: z.number().int().nullish(),
    allowPrivilegeEscalation: z.boolean().nullish(),
    readOnlyRootFilesystem: z.boolean().nullish(),
    capabilities: z
      .object({ add: z.array(z.string()).nullish(), drop: z.array(z.string()).nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough();

const containerSchema = z.object({ name: z.string(), image: z.string().default(''), securityContext: securityContextSchema.nullish() }).passthrough();

const podSpecSchema = z
  .object({
    containers: z.array(containerSchema),
    initContainers: z.array(containerSchema).nullish(),
    hostNetwork: z.boolean().nullish(),
    hostPID: z.boolean().nullish(),
    hostIPC: z.boolean().nullish(),
    serviceAccountName: z.string().nullish(),
    securityContext: z.object({ runAsNonRoot: z.boolean().nullish(), runAsUser: z.number().int().nullish() }).passthrough().nullish(),
    volumes: z.array(z.object({ name: z.string(), hostPath: z.object({ path: z.string() }).passthrough().nullish() }).passthrough()).nullish(),
  })
  .passthrough();

const workloadSchema = z
  .object({
    metadata: metadataSchema,
    spec: z.object({ template: z.object({ metadata: z.object({ labels }).passthrough().nullish(), spec: podSpecSchema }).passthrough() }).passthrough(),
  })
  .passthrough();

const podSchema = z
  .object({
    metadata: metadataSchema,
    spec: podSpecSchema,
    status: z
      .object({
        containerStatuses: z.array(z.object({ name: z.string(), image: z.string().optional(), imageID: z.string().optional() }).passthrough()).nullish(),
        initContainerStatuses: z.array(z.object({ name: z.string(), image: z.string().optional(), imageID: z.string().optional() }).passthrough()).nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

const serviceSchema = z
  .object({
    metadata: metadataSchema,
    spec: z
      .object({
        type: z.string().default('ClusterIP'),
        selector: z.record(z.string()).nullish(),
        ports: z
          .array(
            z
              .object({
                name: z.string().optional(),
                port: z.number().int(),
                targetPort: z.union([z.number().int(), z.string()]).optional(),
                nodePort: z.number().int().optional(),
                protocol: z.string().optional(),
              })
              .passthrough(),
          )
          .nullish(),
      })
      .passthrough()
      .default({}),
    status: z
      .object({
        loadBalancer: z
          .object({ ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional() }).passthrough()).nullish() })
          .passthrough()
          .nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

// networking.k8s.io/v1 names the backend `service: {name, port: {number|name}}`; extensions/v1beta1 wrote
// `serviceName`/`servicePort`. Both still turn up in exported manifests.
const backendSchema = z
  .object({
    service: z
      .object({ name: z.string(), port: z.object({ number: z.number().int().optional(), name: z.string().optional() }).passthrough().nullish() })
      .passthrough()
      .nullish(),
    serviceName: z.string().optional(),
    servicePort: z.union([z.number().int(), z.string()]).optional(),
  })
  .passthrough();

const ingressSchema = z
  .object({
    metadata: metadataSchema,
    spec: z
      .object({
        ingressClassName: z.string().nullish(),
        defaultBackend: backendSchema.nullish(),
        backend: backendSchema.nullish(),
        tls: z.array(z.object({ hosts: z.array(z.string()).nullish() }).passthrough()).nullish(),
        rules: z
          .array(
            z
              .object({
                host: z.string().optional(),
                http: z
                  .object({ paths: z.array(z.object({ path: z.string().optional(), backend: backendSchema }).passthrough()) })
                  .passthrough()
                  .nullish(),
              })
              .passthrough(),
          )
          .nullish(),
      })
      .passthrough()
      .default({}),
  })
  .passthrough();

const namespaceSchema = z.object({ metadata: metadataSchema }).passthrough();

type PodSpec = z.infer<typeof podSpecSchema>;
type Container = z.infer<typeof containerSchema>;
type Backend = z.infer<typeof backendSchema>;

/** The manifest digest in an image reference or a container status imageID (`…@sha256:…`). */
export function digestOf(reference: string | undefined): string | undefined {
  const at = reference?.lastIndexOf('@') ?? -1;
  if (!reference || at === -1) return undefined;
  const digest = reference.slice(at + 1);
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}

const defined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

function containerSecurity(container: Container, pod: PodSpec): ContainerSecurity | undefined {
  const sc = container.securityContext;
  const security = defined<ContainerSecurity>({
    privileged: sc?.privileged ?? undefined,
    runAsNonRoot: sc?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot ?? undefined,
    runAsUser: sc?.runAsUser ?? pod.securityContext?.runAsUser ?? undefined,
    allowPrivilegeEscalation: sc?.allowPrivilegeEscalation ?? undefined,
    readOnlyRootFilesystem: sc?.readOnlyRootFilesystem ?? undefined,
    capabilities: sc?.capabilities ? { add: sc.capabilities.add ?? [], drop: sc.capabilities.drop ?? [] } : undefined,
  });
  return Object.keys(security).length ? security : undefined;
}

function podSecurity(spec: PodSpec): PodSecurity {
  const containers = [...spec.containers, ...(spec.initContainers ?? [])];
  return defined<PodSecurity>({
    hostNetwork: spec.hostNetwork ?? undefined,
    hostPID: spec.hostPID ?? undefined,
    hostIPC: spec.hostIPC ?? undefined,
    hostPaths: (spec.volumes ?? []).flatMap((v) => (v.hostPath ? [v.hostPath.path] : [])),
    runAsNonRoot: spec.securityContext?.runAsNonRoot ?? undefined,
    runAsUser: spec.securityContext?.runAsUser ?? undefined,
    serviceAccount: spec.serviceAccountName ?? undefined,
    privileged: containers.some((c) => c.securityContext?.privileged === true),
    capabilitiesAdded: [...new Set(containers.flatMap((c) => c.securityContext?.capabilities?.add ?? []))],
  });
}

function containersOf(spec: PodSpec, imageIds: Map<string, string | undefined> = new Map()): WorkloadAsset['containers'] {
  return [...spec.containers, ...(spec.initContainers ?? [])].map((c) =>
    defined({ name: c.name, image: c.image, digest: digestOf(imageIds.get(c.name)) ?? digestOf(c.image), security: containerSecurity(c, spec) }),
  );
}

interface Context {
  cluster?: string;
  observedAt: string;
  deleted?: true;
}

function workloadAsset(item: KubernetesItem, kind: string, ctx: Context): WorkloadAsset {
  const { metadata, spec } = validateAt(workloadSchema, item.object, item.path);
  const pod = spec.template.spec;
  return defined({
    type: 'workload' as const,
    cluster: ctx.cluster,
    namespace: metadata.namespace ?? 'default',
    kind,
    name: metadata.name,
    labels: metadata.labels ?? {},
    containers: containersOf(pod),
    podLabels: spec.template.metadata?.labels ?? {},
    security: podSecurity(pod),
    deleted: ctx.deleted,
    observedAt: ctx.observedAt,
  });
}

/**
 * The workload that owns a pod. A ReplicaSet owner is a Deployment's when the pod's pod-template-hash
 * ends its name (how the Deployment controller names them); a Job owner is a CronJob's when its name ends
 * in the schedule's minutes. Without an owner reference, the pod name's shape is the only clue. What is
 * read from a name rather than stated is marked derived.
 */
function controllerOf(metadata: z.infer<typeof metadataSchema>): WorkloadAsset['controller'] {
  const owner = (metadata.ownerReferences ?? []).find((o) => o.controller) ?? metadata.ownerReferences?.[0];
  const hash = metadata.labels?.['pod-template-hash'];
  if (owner?.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  }
  if (owner) {
    const above = ownerOf(owner.kind, owner.name);
    return above ? { kind: above.kind, name: above.name, derived: true } : { kind: owner.kind, name: owner.name };
  }
  const derived = ownerOf('Pod', metadata.name);
  return derived ? { kind: derived.kind, name: derived.name, derived: true } : undefined;
}

function podAsset(item: KubernetesItem, ctx: Context): WorkloadAsset {
  const { metadata, spec, status } = validateAt(podSchema, item.object, item.path);
  const statuses = [...(status?.containerStatuses ?? []), ...(status?.initContainerStatuses ?? [])];
  return defined({
    type: 'workload' as const,
    cluster: ctx.cluster,
    namespace: metadata.namespace ?? 'default',
    kind: 'Pod',
    name: metadata.name,
    labels: metadata.labels ?? {},
    containers: containersOf(spec, new Map(statuses.map((s) => [s.name, s.imageID]))),
    podLabels: metadata.labels ?? {},
    security: podSecurity(spec),
    controller: controllerOf(metadata),
    deleted: ctx.deleted,
    observedAt: ctx.observedAt,
  });
}

function serviceAsset(item: KubernetesItem, ctx: Context): Asset {
  const { metadata, spec, status } = validateAt(serviceSchema, item.object, item.path);
  return defined({
    type: 'service' as const,
    cluster: ctx.cluster,
    namespace: metadata.namespace ?? 'default',
    name: metadata.name,
    serviceType: spec.type,
    selector: spec.selector ?? {},
    ports: (spec.ports ?? []).map((p) => defined({ name: p.name, port: p.port, targetPort: p.targetPort, nodePort: p.nodePort, protocol: p.protocol })),
    externalAddresses: (status?.loadBalancer?.ingress ?? []).flatMap((i) => [i.ip, i.hostname].filter((a): a is string => !!a)),
    labels: metadata.labels ?? {},
    deleted: ctx.deleted,
    observedAt: ctx.observedAt,
  });
}

function backendOf(backend: Backend): { service: string; port?: number | string } | undefined {
  if (backend.service) return defined({ service: backend.service.name, port: backend.service.port?.number ?? backend.service.port?.name });
  if (backend.serviceName) return defined({ service: backend.serviceName, port: backend.servicePort });
  return undefined;
}

function ingressAsset(item: KubernetesItem, ctx: Context): Asset {
  const { metadata, spec } = validateAt(ingressSchema, item.object, item.path);
  const backends: { service: string; port?: number | string; host?: string; path?: string }[] = [];
  const fallback = spec.defaultBackend ?? spec.backend;
  const defaultBackend = fallback ? backendOf(fallback) : undefined;
  if (defaultBackend) backends.push(defaultBackend);
  for (const rule of spec.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      const backend = backendOf(path.backend);
      if (backend) backends.push(defined({ ...backend, host: rule.host, path: path.path }));
    }
  }
  const hosts = [...new Set([...(spec.rules ?? []).map((r) => r.host), ...(spec.tls ?? []).flatMap((t) => t.hosts ?? [])].filter((h): h is string => !!h))];
  return defined({
    type: 'ingress' as const,
    cluster: ctx.cluster,
    namespace: metadata.namespace ?? 'default',
    name: metadata.name,
    ingressClassName: spec.ingressClassName ?? metadata.labels?.['kubernetes.io/ingress.class'] ?? undefined,
    hosts,
    tls: (spec.tls ?? []).length > 0,
    backends,
    labels: metadata.labels ?? {},
    deleted: ctx.deleted,
    observedAt: ctx.observedAt,
  });
}

function namespaceAsset(item: KubernetesItem, ctx: Context): Asset {
  const { metadata } = validateAt(namespaceSchema, item.object, item.path);
  return defined({
    type: 'namespace' as const,
    cluster: ctx.cluster,
    name: metadata.name,
    labels: metadata.labels ?? {},
    deleted: ctx.deleted,
    observedAt: ctx.observedAt,
  });
}

function assetOf(item: KubernetesItem, ctx: Context): Asset | undefined {
  const { kind } = typeOf(item.object);
  if (kind && WORKLOAD_KINDS.includes(kind)) return workloadAsset(item, kind, ctx);
  switch (kind) {
    case 'Pod':
      return podAsset(item, ctx);
    case 'Service':
      return serviceAsset(item, ctx);
    case 'Ingress':
      return ingressAsset(item, ctx);
    case 'Namespace':
      return namespaceAsset(item, ctx);
    default:
      return undefined;
  }
}

function parse(raw: string, meta: SourceMeta): { findings: []; assets: Asset[]; scopes: [] } {
  const items = itemsOf(parseJson(raw));
  const cluster = clusterOf(meta);
  const assets: Asset[] = [];
  const unread = new Set<string>();
  for (const item of items) {
    if (!isObject(item.object)) throw new ParseError('expected a Kubernetes object', item.path || undefined);
    const { kind } = typeOf(item.object);
    if (!kind) throw new ParseError('required', item.path ? `${item.path}.kind` : 'kind');
    const asset = assetOf(item, { cluster, observedAt: meta.receivedAt, ...(item.deleted ? { deleted: true as const } : {}) });
    if (asset) assets.push(asset);
    else unread.add(kind);
  }
  if (assets.length === 0 && unread.size > 0) throw new IgnoredInput(`Kubernetes ${[...unread].join(', ')} is not read by Klaxon`);
  return { findings: [], assets, scopes: [] };
}

/** Core and apps objects only: report CRDs (wgpolicyk8s.io, aquasecurity.github.io) have their own parsers. */
const isCore = (object: unknown) => {
  const { apiVersion } = typeOf(object);
  return !!apiVersion && (!apiVersion.includes('.') || apiVersion.startsWith('networking.k8s.io/'));
};
const isRead = (object: unknown) => isCore(object) && READ_KINDS.includes(typeOf(object).kind ?? '');

export const kubernetesParser: SourceParser = {
  format: 'kubernetes',
  readsYaml: true,
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    if (Array.isArray(document.items)) return document.items.some(isRead) && document.items.every(isCore);
    return isRead(document);
  },
  parse,
};
