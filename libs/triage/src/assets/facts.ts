import { matchesAll, type Matcher, type PodSecurity, type Severity, type WorkloadAsset } from '@klaxon/findings';
import type { KlaxonConfig } from '@klaxon/platform';
import type { BuildInfo, Detection, LinkedBy, WorkloadContext } from '../risk/risk';

/**
 * The facts the asset graph keeps, and the pure reading of them into a workload's context
 * (environment, owners, exposure, privileges). Redis lives in AssetRepository; nothing here does I/O.
 */

export interface ImageFacts {
  digest: string;
  registry?: string;
  repository?: string;
  tags: string[];
  /** Image labels (OCI `org.opencontainers.image.*` and the build's own). */
  labels?: Record<string, string>;
  build?: BuildInfo;
  lastSeen: string;
}

/** A value and the source's own time for it: the newer one wins a merge. */
export interface Register {
  value: string;
  at: string;
}

/**
 * What the graph keeps about a digest or a commit, as a merge of every fact heard of it: sets grow
 * (tags, pull requests), each scalar (registry, repository, build.repo, build.commit, label.<k>, …) is
 * the value with the newest source time, ties broken by the greater value, and a missing value never
 * erases one. `mergeFacts` is commutative, associative and idempotent, so the record is the same in
 * whatever order (and how often) the same facts arrive. libs/triage/src/lua/merge-facts.lua is its twin
 * in Redis; the property test holds both to it.
 */
export interface FactRecord {
  sets: Record<string, string[]>;
  fields: Record<string, Register>;
  lastSeen: string;
}

function newer(a: Register | undefined, b: Register | undefined): Register | undefined {
  if (!a || !b) return a ?? b;
  if (a.at !== b.at) return a.at > b.at ? a : b;
  return a.value >= b.value ? a : b;
}

function union(a: string[] = [], b: string[] = []): string[] {
  return [...new Set([...a, ...b])].sort();
}

export function mergeFacts(a: FactRecord | undefined, b: FactRecord): FactRecord {
  if (!a) return b;
  const sets: Record<string, string[]> = {};
  for (const name of new Set([...Object.keys(a.sets), ...Object.keys(b.sets)])) sets[name] = union(a.sets[name], b.sets[name]);
  const fields: Record<string, Register> = {};
  for (const name of new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])) fields[name] = newer(a.fields[name], b.fields[name])!;
  return { sets, fields, lastSeen: a.lastSeen > b.lastSeen ? a.lastSeen : b.lastSeen };
}

/** A record's sets and fields in a stable order, empty sets left out (Redis' cjson writes keys in any order, an empty array as {}). */
export function normalFacts(r: FactRecord): FactRecord {
  const sets = Object.fromEntries(
    Object.entries(r.sets ?? {})
      .filter(([, v]) => Array.isArray(v) && v.length)
      .map(([k, v]) => [k, [...v].sort()] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const fields = Object.fromEntries(Object.entries(r.fields ?? {}).sort(([a], [b]) => a.localeCompare(b)));
  return { sets, fields, lastSeen: r.lastSeen };
}

function factRecord(at: string, scalars: Record<string, string | undefined>, sets: Record<string, (string | number)[]>): FactRecord {
  const fields: Record<string, Register> = {};
  for (const [name, value] of Object.entries(scalars)) if (value !== undefined && value !== '') fields[name] = { value, at };
  return { sets: Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, union(v.map(String))])), fields, lastSeen: at };
}

/** What one image asset (a scan, a push, a report) says about its digest. */
export function imageRecordOf(
  image: { registry?: string; repository?: string; tags: string[]; labels?: Record<string, string>; build?: Partial<BuildInfo> },
  at: string,
): FactRecord {
  const labels = Object.fromEntries(Object.entries(image.labels ?? {}).map(([k, v]) => [`label.${k}`, v]));
  return factRecord(
    at,
    { registry: image.registry, repository: image.repository, ...buildScalars(image.build), ...labels },
    { tags: image.tags, pullRequests: image.build?.pullRequests ?? [] },
  );
}

/** What a CI run says about its commit (and so about the digests it published). */
export function buildRecordOf(build: Partial<BuildInfo>, at: string): FactRecord {
  return factRecord(at, buildScalars(build), { pullRequests: build.pullRequests ?? [] });
}

function buildScalars(build: Partial<BuildInfo> | undefined): Record<string, string | undefined> {
  return { 'build.repo': build?.repo, 'build.commit': build?.commit, 'build.branch': build?.branch, 'build.url': build?.url };
}

export function buildInfoOf(r: FactRecord): BuildInfo | undefined {
  const f = (name: string) => r.fields[name]?.value;
  const pullRequests = (r.sets.pullRequests ?? []).map(Number).sort((x, y) => x - y);
  if (!f('build.repo') && !f('build.commit') && !pullRequests.length) return undefined;
  return JSON.parse(
    JSON.stringify({ repo: f('build.repo'), commit: f('build.commit'), branch: f('build.branch'), url: f('build.url'), pullRequests }),
  ) as BuildInfo;
}

export function imageFactsOf(digest: string, r: FactRecord): ImageFacts {
  const labels = Object.fromEntries(
    Object.entries(r.fields)
      .filter(([k]) => k.startsWith('label.'))
      .map(([k, v]) => [k.slice('label.'.length), v.value]),
  );
  return {
    digest,
    registry: r.fields.registry?.value,
    repository: r.fields.repository?.value,
    tags: r.sets.tags ?? [],
    labels,
    build: buildInfoOf(r),
    lastSeen: r.lastSeen,
  };
}

/** An image a workload's container runs, and how its digest was learnt. */
export interface WorkloadImage {
  container: string;
  repository?: string;
  tag?: string;
  digest?: string;
  linkedBy?: LinkedBy;
}

export interface WorkloadFacts {
  id: string;
  cluster?: string;
  namespace: string;
  kind: string;
  name: string;
  labels: Record<string, string>;
  podLabels?: Record<string, string>;
  images: WorkloadImage[];
  security?: PodSecurity;
  /** Containers that are privileged or run as root by their own securityContext. */
  containerPrivileges: string[];
  lastSeen: string;
  /** `runtime`: known only from a runtime event (no snapshot described it yet). */
  learnedFrom?: 'runtime';
}

export interface ServiceFacts {
  name: string;
  serviceType: string;
  selector: Record<string, string>;
}

export interface IngressFacts {
  name: string;
  services: string[];
}

export interface NamespaceFacts {
  labels: Record<string, string>;
}

/** A vulnerability of one digest, as much as scoring and explanations need (the full finding stays in FindingRepository). */
export interface VulnerabilityFact {
  fingerprint: string;
  id: string;
  severity: Severity;
  cvss?: number;
  exploited?: boolean;
  epss?: number;
  fixable: boolean;
  package: string;
  installed?: string;
  fixed?: string;
}

/** A runtime detection on a workload, with the image it resolved to. */
export interface DetectionFact extends Detection {
  digest?: string;
  linkedBy?: LinkedBy;
  /** Where it fired, so a digest learnt later (the workload's snapshot) can still be found for it. */
  container?: string;
  repository?: string;
}

/** Everything around one namespace that exposure and environment depend on. */
export interface NamespaceView {
  facts?: NamespaceFacts;
  services: ServiceFacts[];
  ingresses: IngressFacts[];
}

/** `cluster/namespace/Kind/name`; empty parts kept so ids never collide. */
export function workloadId(w: { cluster?: string; namespace: string; kind: string; name: string }): string {
  return [w.cluster ?? '', w.namespace, w.kind, w.name].join('/');
}

/**
 * The parts a workload id spells, read from the right: Kubernetes names hold no `/`, a cluster name may.
 * Undefined for an id of fewer than four parts.
 */
export function workloadParts(id: string): { cluster?: string; namespace: string; kind: string; name: string } | undefined {
  const parts = id.split('/');
  if (parts.length < 4) return undefined;
  const [namespace, kind, name] = parts.slice(-3);
  return { cluster: parts.slice(0, -3).join('/') || undefined, namespace, kind, name };
}

export function namespaceKey(cluster: string | undefined, namespace: string): string {
  return `${cluster ?? ''}/${namespace}`;
}

/** Splits `[registry/]repository[:tag][@digest]` as Docker's reference grammar does. */
export function imageRef(ref: string): { repository: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const digest = at === -1 ? undefined : ref.slice(at + 1);
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const path = first.includes('.') || first.includes(':') || first === 'localhost' ? name.slice(slash + 1) : name;
  const colon = path.lastIndexOf(':');
  return { repository: colon === -1 ? path : path.slice(0, colon), tag: colon === -1 ? undefined : path.slice(colon + 1), digest };
}

/** A workload asset as the graph keeps it; a Pod owned by a controller is kept under its controller. */
export function workloadFactsOf(asset: WorkloadAsset): WorkloadFacts {
  const owner = asset.kind === 'Pod' && asset.controller ? asset.controller : { kind: asset.kind, name: asset.name };
  const base = { cluster: asset.cluster, namespace: asset.namespace, kind: owner.kind, name: owner.name };
  const containerPrivileges = asset.containers.flatMap((c) => {
    const out: string[] = [];
    if (c.security?.privileged) out.push(`privileged container ${c.name}`);
    if (c.security?.runAsUser === 0) out.push(`container ${c.name} runs as root`);
    return out;
  });
  return {
    id: workloadId(base),
    ...base,
    labels: asset.labels,
    podLabels: asset.podLabels,
    images: asset.containers.map((c) => {
      const ref = imageRef(c.image);
      const digest = c.digest ?? ref.digest;
      return { container: c.name, repository: ref.repository, tag: ref.tag, digest, linkedBy: digest ? 'digest' : undefined };
    }),
    security: asset.security,
    containerPrivileges,
    lastSeen: asset.observedAt,
  };
}

/** What a compromised container could reach beyond itself, in words for the explanation. */
export function privilegesOf(w: WorkloadFacts): string[] {
  const s = w.security;
  const out = new Set<string>();
  if (s?.privileged) out.add('privileged');
  for (const p of w.containerPrivileges) out.add(p.startsWith('privileged') ? 'privileged' : p);
  if (s?.hostNetwork) out.add('hostNetwork');
  if (s?.hostPID) out.add('hostPID');
  for (const path of s?.hostPaths ?? []) out.add(`hostPath ${path}`);
  // A pod that neither sets runAsNonRoot nor a user may well run as root, but only an explicit 0 is evidence.
  if (s?.runAsUser === 0) out.add('runs as root');
  for (const cap of s?.capabilitiesAdded ?? []) if (['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'ALL'].includes(cap)) out.add(`CAP_${cap.replace(/^CAP_/, '')}`);
  return [...out];
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && !!labels && entries.every(([k, v]) => labels[k] === v);
}

/**
 * Paths from outside the cluster: a Service of type LoadBalancer or NodePort selecting the workload's
 * pods, or an Ingress whose backend is any Service selecting them.
 */
export function exposureOf(w: WorkloadFacts, ns: NamespaceView): string[] {
  const podLabels = w.podLabels ?? w.labels;
  const services = ns.services.filter((s) => selects(s.selector, podLabels));
  const names = new Set(services.map((s) => s.name));
  const via: string[] = [];
  for (const ing of ns.ingresses) if (ing.services.some((s) => names.has(s))) via.push(`Ingress ${w.namespace}/${ing.name}`);
  for (const s of services)
    if (s.serviceType === 'LoadBalancer' || s.serviceType === 'NodePort') via.push(`Service ${w.namespace}/${s.name} (${s.serviceType})`);
  return via;
}

/**
 * The environment from `context.environments`: the first entry whose matchers all hold over
 * `namespace` (its name), `namespace.labels.<key>`, `cluster` and `workload.labels.<key>`.
 */
export function environmentOf(w: WorkloadFacts, ns: NamespaceView, environments: { match: Matcher[]; environment: string }[]): string | undefined {
  const record = {
    workload: { cluster: w.cluster, namespace: w.namespace, kind: w.kind, name: w.name, labels: w.labels },
    namespace: { name: w.namespace, labels: ns.facts?.labels ?? {} },
  };
  return environments.find((e) => matchesAll(e.match, record))?.environment;
}

/** Owner labels (`context.ownerLabels`) from the workload, then its namespace. */
export function ownersOf(w: WorkloadFacts, ns: NamespaceView, ownerLabels: string[]): Record<string, string> {
  const owners: Record<string, string> = {};
  for (const key of ownerLabels) {
    const value = w.labels[key] ?? w.podLabels?.[key] ?? ns.facts?.labels[key];
    if (value) owners[key] = value;
  }
  return owners;
}

export function workloadContext(
  w: WorkloadFacts,
  ns: NamespaceView,
  detections: Detection[],
  linkedBy: LinkedBy,
  context: KlaxonConfig['context'],
): WorkloadContext {
  return {
    id: w.id,
    cluster: w.cluster,
    namespace: w.namespace,
    kind: w.kind,
    name: w.name,
    environment: environmentOf(w, ns, context.environments),
    owners: ownersOf(w, ns, context.ownerLabels),
    exposedVia: exposureOf(w, ns),
    privileges: privilegesOf(w),
    linkedBy,
    lastSeen: w.lastSeen,
    detections: [...detections].sort((a, b) => b.at.localeCompare(a.at)),
  };
}
