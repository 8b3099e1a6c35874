import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { Asset, BuildAsset, ImageAsset, Risk, WorkloadAsset } from '@klaxon/findings';
import type { BuildInfo, LinkedBy } from '../risk/risk';
import { decodeStoredJson, encodeStoredJson } from '../stored-json';
import {
  buildInfoOf,
  buildRecordOf,
  imageFactsOf,
  imageRecordOf,
  mergeFacts,
  normalFacts,
  namespaceKey,
  workloadFactsOf,
  workloadId,
  workloadParts,
  type DetectionFact,
  type FactRecord,
  type ImageFacts,
  type IngressFacts,
  type NamespaceView,
  type ServiceFacts,
  type VulnerabilityFact,
  type WorkloadFacts,
} from './facts';

/** What an input changed in the graph: the findings around these must be scored again. */
export interface GraphChanges {
  workloads: Set<string>;
  namespaces: Set<string>;
  /** Digests whose set of running workloads changed. */
  digests: Set<string>;
  /** Digests that got a new vulnerability scan (their runtime detections read differently). */
  newVulnerabilities: Set<string>;
  /** Digests whose image or build facts grew (a tag, the commit, a pull request): what their findings belong to changed. */
  links: Set<string>;
}

/** The risk a finding was last given, with the context that explains it (what `GET /v1/findings/{fp}` shows). */
export interface RiskRecord extends Risk {
  at: string;
  environment?: string;
  exposure?: string;
  /**
   * The image digest correlation linked the finding to, when it is not the finding's own: linked `by`
   * `digest`, it is the finding's artifact digest, which the finding's own record holds.
   */
  digest?: string;
  linkedBy?: LinkedBy;
  workloads: { id: string; environment?: string; exposedVia: string[]; owners: Record<string, string> }[];
  /** Who built the image, as records of earlier versions kept it: the image's facts say it now. */
  build?: BuildInfo;
}

/**
 * A risk record as it is kept: a workload's empty exposure and owners are left out (every runtime alert
 * has one), and the JSON is compressed as a finding's report is (stored-json.ts: its dictionary holds the
 * record's field names and the usual reasons), 186 → 106 bytes for an alert's.
 */
function storedRisk(r: RiskRecord): Buffer {
  const workloads = r.workloads.map(({ exposedVia, owners, ...w }) => ({
    ...w,
    ...(exposedVia.length && { exposedVia }),
    ...(Object.keys(owners).length && { owners }),
  }));
  return encodeStoredJson(JSON.stringify({ ...r, workloads }));
}

/** A kept risk record: compressed, or the JSON earlier versions kept. */
function riskOf(value: Buffer | null): RiskRecord | undefined {
  if (!value?.length) return undefined;
  const r = decodeStoredJson(value) as RiskRecord;
  for (const w of r.workloads) {
    w.exposedVia ??= [];
    w.owners ??= {};
  }
  return r;
}

export interface CorrelatedContext {
  risk: Risk & { at: string };
  environment?: string;
  exposure?: string;
  image?: { digest: string; linkedBy?: LinkedBy };
  builtFrom?: BuildInfo;
  runsIn: RiskRecord['workloads'];
}

/** Where a runtime event was seen, for resolving it to a workload. */
export interface WorkloadLookup {
  cluster?: string;
  namespace: string;
  kind?: string;
  name?: string;
  pod?: string;
}

const CHUNK = 1000;

function json<T>(value: string | null | undefined): T | undefined {
  return value ? (JSON.parse(value) as T) : undefined;
}

function exec(results: [Error | null, unknown][] | null): unknown[] {
  return results!.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * Workload facts as kept under `graph:workload:<id>`: the id is the key's, and so are the cluster,
 * namespace, kind and name it spells; the last-seen time is `graph:workloads`' score; empty labels,
 * images and privileges are left out. A workload a runtime alert taught keeps in 24 bytes, not 250. The
 * fields go in one order, so two facts that say the same thing are the same string.
 */
export function storedWorkload(f: WorkloadFacts): string {
  const parts = workloadParts(f.id);
  const spelled = parts?.cluster === f.cluster && parts?.namespace === f.namespace && parts.kind === f.kind && parts.name === f.name;
  return JSON.stringify({
    ...(!spelled && { cluster: f.cluster, namespace: f.namespace, kind: f.kind, name: f.name }),
    ...(Object.keys(f.labels).length && { labels: f.labels }),
    podLabels: f.podLabels,
    ...(f.images.length && { images: f.images }),
    security: f.security,
    ...(f.containerPrivileges.length && { containerPrivileges: f.containerPrivileges }),
    learnedFrom: f.learnedFrom,
  });
}

/**
 * A workload's facts from what `graph:workload:<id>` holds: this version's form or an earlier one's (every
 * field spelled out, the id and last-seen time included). `lastSeen`: `graph:workloads`' time, when read.
 */
export function workloadOf(id: string, value: string | null | undefined, lastSeen?: string): WorkloadFacts | undefined {
  const stored = json<Partial<WorkloadFacts>>(value);
  if (!stored) return undefined;
  const spelled = stored.namespace === undefined ? workloadParts(id) : undefined;
  return {
    id,
    cluster: spelled ? spelled.cluster : stored.cluster,
    namespace: spelled?.namespace ?? stored.namespace!,
    kind: spelled?.kind ?? stored.kind!,
    name: spelled?.name ?? stored.name!,
    labels: stored.labels ?? {},
    podLabels: stored.podLabels,
    images: stored.images ?? [],
    security: stored.security,
    containerPrivileges: stored.containerPrivileges ?? [],
    lastSeen: lastSeen ?? stored.lastSeen ?? '',
    learnedFrom: stored.learnedFrom,
  };
}

/** A runtime detection as kept in `graph:detections:<workload>`, under its fingerprint: the title only when it is not the rule. */
function storedDetection({ fingerprint: _, title, ...d }: DetectionFact): string {
  return JSON.stringify({ ...(title !== d.rule && { title }), ...d });
}

/** A workload's stored detections (field: fingerprint) that count since `since`, newest first; values of earlier versions spell both. */
function detectionsSince(stored: Record<string, string> | string[], since: Date): DetectionFact[] {
  const cutoff = since.toISOString();
  const out: DetectionFact[] = [];
  const keep = (fingerprint: string, v: string) => {
    const d = JSON.parse(v) as Omit<DetectionFact, 'fingerprint'> & { title?: string };
    if (d.at >= cutoff) out.push({ ...d, fingerprint, title: d.title ?? d.rule });
  };
  // As HGETALL answers a script (field, value, …) or ioredis's own hgetall (an object).
  if (Array.isArray(stored)) for (let i = 0; i < stored.length; i += 2) keep(stored[i], stored[i + 1]);
  else for (const [fingerprint, v] of Object.entries(stored)) keep(fingerprint, v);
  return out.sort((a, b) => b.at.localeCompare(a.at));
}

/** A stored fact record; one written before records existed (plain image or build JSON) is read as such a fact. */
function factRecordOf(value: string | null | undefined): FactRecord | undefined {
  const parsed = json<Record<string, unknown>>(value);
  if (!parsed) return undefined;
  if (parsed.sets && parsed.fields) return normalFacts(parsed as unknown as FactRecord);
  const legacy = parsed as Partial<ImageFacts> & Partial<BuildInfo>;
  const at = legacy.lastSeen ?? '';
  return legacy.digest !== undefined || legacy.tags ? imageRecordOf({ tags: [], ...legacy }, at) : buildRecordOf(legacy, at);
}

/**
 * The asset graph: digest → build (repo, commit, branch, PRs) and tags; workloads → images they run,
 * labels, security; namespaces → labels, Services, Ingresses; per digest its vulnerabilities and per
 * workload its runtime detections (what re-scoring reads); per finding its last risk. Every key of the
 * graph is spelled here, under `<prefix>:graph:`. Reads and writes of a batch are one pipeline each.
 */
export class AssetRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.mergeFacts) redis.defineCommand('mergeFacts', { numberOfKeys: 1, lua: readFileSync(resolve(__dirname, '../lua/merge-facts.lua'), 'utf8') });
    if (!redis.recordDetections) {
      redis.defineCommand('recordDetections', { numberOfKeys: 1, lua: readFileSync(resolve(__dirname, '../lua/record-detections.lua'), 'utf8') });
    }
  }

  private k(...parts: string[]) {
    return `${this.prefix}:graph:${parts.join(':')}`;
  }
  private imageKey = (digest: string) => this.k('image', digest);
  private commitKey = (repo: string, commit: string) => this.k('commit', repo, commit);
  /** The digests known to be built from a commit (its images learn the commit's pull requests). */
  private commitDigestsKey = (repo: string, commit: string) => this.k('commit-digests', repo, commit);
  private tagKey = (repository: string, tag: string) => this.k('tag', repository, tag);
  private workloadKey = (id: string) => this.k('workload', id);
  private get workloadsKey() {
    return this.k('workloads');
  }
  private namesKey = (namespace: string, kind: string, name: string) => this.k('names', namespace, kind, name);
  private podKey = (namespace: string, pod: string) => this.k('pod', namespace, pod);
  private runningKey = (digest: string) => this.k('running', digest);
  private nsWorkloadsKey = (ns: string) => this.k('ns-workloads', ns);
  private namespaceKey = (ns: string) => this.k('namespace', ns);
  private servicesKey = (ns: string) => this.k('services', ns);
  private ingressesKey = (ns: string) => this.k('ingresses', ns);
  private vulnsKey = (digest: string, scope: string) => this.k('vulns', digest, scope);
  private vulnScopesKey = (digest: string) => this.k('vuln-scopes', digest);
  private detectionsKey = (id: string) => this.k('detections', id);
  private riskKey = (fp: string) => this.k('risk', fp);

  /**
   * Records the assets of one input. Workloads that are gone (`deleted`) leave the graph; a workload
   * whose images changed stops counting for the digests it no longer runs.
   */
  async recordAssets(assets: Asset[], now: Date): Promise<GraphChanges> {
    const changes: GraphChanges = { workloads: new Set(), namespaces: new Set(), digests: new Set(), newVulnerabilities: new Set(), links: new Set() };
    if (!assets.length) return changes;
    const images = assets.filter((a): a is ImageAsset => a.type === 'image');
    const builds = assets.filter((a): a is BuildAsset => a.type === 'build');
    const workloads = assets.filter((a): a is WorkloadAsset => a.type === 'workload');
    // Read what the writes depend on: the previous facts of each workload and the digests of tag-only images.
    const facts = workloads.map(workloadFactsOf);
    const ids = [...new Set(facts.map((f) => f.id))];
    const tagRefs = [...new Set(facts.flatMap((f) => f.images.filter((i) => !i.digest && i.repository && i.tag).map((i) => `${i.repository}:${i.tag}`)))];
    const exposure = assets.filter((a) => a.type === 'service' || a.type === 'ingress' || a.type === 'namespace');
    // A runtime event that named no cluster may have taught the graph this workload without one: its twin.
    const twins = [...new Map(facts.filter((f) => f.cluster).map((f) => [f.id, workloadId({ ...f, cluster: undefined })])).entries()];
    const read = this.redis.pipeline();
    for (const [, twin] of twins) read.get(this.workloadKey(twin)).hgetall(this.detectionsKey(twin)).pttl(this.detectionsKey(twin));
    for (const id of ids) read.get(this.workloadKey(id));
    for (const ref of tagRefs) read.get(this.tagKey(ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)));
    for (const a of exposure) {
      if (a.type === 'namespace') read.get(this.namespaceKey(namespaceKey(a.cluster, a.name)));
      else
        read.hget(
          a.type === 'service' ? this.servicesKey(namespaceKey(a.cluster, a.namespace)) : this.ingressesKey(namespaceKey(a.cluster, a.namespace)),
          a.name,
        );
    }
    const values = ids.length + tagRefs.length + exposure.length ? (exec(await read.exec()) as (string | null)[]) : [];
    let n = 0;
    const twinFacts = new Map(
      twins.map(([id, twin]) => [
        id,
        { twin, facts: workloadOf(twin, values[n++]), detections: values[n++] as unknown as Record<string, string>, ttl: values[n++] as unknown as number },
      ]),
    );
    const previous = new Map(ids.map((id) => [id, workloadOf(id, values[n++])]));
    const tagDigests = new Map(tagRefs.map((ref) => [ref, values[n++] ?? undefined]));
    const previousExposure = exposure.map(() => values[n++]);

    // Images and the builds of commits: merged, never overwritten (one script call for the batch).
    const links = await this.mergeImageFacts(images, builds);
    for (const d of links) changes.links.add(d);

    const write = this.redis.pipeline();
    const at = now.getTime();
    for (const image of images) if (image.repository) for (const tag of image.tags) write.set(this.tagKey(image.repository, tag), image.digest);

    // Workloads.
    for (const [i, asset] of workloads.entries()) {
      const fact = facts[i];
      const before = previous.get(fact.id);
      const nsKey = namespaceKey(fact.cluster, fact.namespace);
      if (asset.kind === 'Pod' && asset.controller) write.set(this.podKey(fact.namespace, asset.name), fact.id);
      if (asset.deleted) {
        // A deleted pod is a restart or a rollout step; its controller is what comes and goes.
        if (asset.kind === 'Pod' && asset.controller) continue;
        write.del(this.workloadKey(fact.id)).zrem(this.workloadsKey, fact.id).srem(this.nsWorkloadsKey(nsKey), fact.id);
        for (const img of before?.images ?? []) {
          if (!img.digest) continue;
          write.zrem(this.runningKey(img.digest), fact.id);
          changes.digests.add(img.digest);
        }
        changes.workloads.add(fact.id);
        previous.set(fact.id, undefined);
        continue;
      }
      const merged = this.mergeWorkload(before, fact, asset.kind === 'Pod' && !!asset.controller, tagDigests);
      previous.set(fact.id, merged);
      const stored = storedWorkload(merged);
      write.set(this.workloadKey(fact.id), stored).zadd(this.workloadsKey, at, fact.id).sadd(this.nsWorkloadsKey(nsKey), fact.id);
      this.nameIn(write, fact);
      const now_ = new Set(merged.images.flatMap((img) => (img.digest ? [img.digest] : [])));
      const then = new Set((before?.images ?? []).flatMap((img) => (img.digest ? [img.digest] : [])));
      for (const d of now_) write.zadd(this.runningKey(d), at, fact.id);
      for (const d of then) if (!now_.has(d)) write.zrem(this.runningKey(d), fact.id);
      if (!before || storedWorkload(before) !== stored) {
        changes.workloads.add(fact.id);
        for (const d of new Set([...now_, ...then])) changes.digests.add(d);
      }
      const twin = twinFacts.get(fact.id);
      if (twin?.facts) {
        // The same workload, now known with its cluster: its detections move over, the twin leaves.
        this.forgetTwin(write, twin.twin, twin.facts, fact.id, twin.detections, twin.ttl);
        twinFacts.delete(fact.id);
        changes.workloads.add(fact.id);
      }
    }

    // What exposes workloads, and the namespaces' labels (environment, owners).
    for (const [i, a] of exposure.entries()) {
      let key: string;
      let value: string;
      if (a.type === 'namespace') {
        key = namespaceKey(a.cluster, a.name);
        value = JSON.stringify({ labels: a.labels });
        if (a.deleted) write.del(this.namespaceKey(key));
        else write.set(this.namespaceKey(key), value);
      } else if (a.type === 'service' || a.type === 'ingress') {
        key = namespaceKey(a.cluster, a.namespace);
        const hash = a.type === 'service' ? this.servicesKey(key) : this.ingressesKey(key);
        value =
          a.type === 'service'
            ? JSON.stringify({ name: a.name, serviceType: a.serviceType, selector: a.selector } satisfies ServiceFacts)
            : JSON.stringify({ name: a.name, services: [...new Set(a.backends.map((be) => be.service))] } satisfies IngressFacts);
        if (a.deleted) write.hdel(hash, a.name);
        else write.hset(hash, a.name, value);
      } else continue;
      if (previousExposure[i] !== (a.deleted ? null : value)) changes.namespaces.add(key);
    }
    exec(await write.exec());
    return changes;
  }

  private forgetTwin(write: ChainableCommander, twin: string, facts: WorkloadFacts, into: string, detections: Record<string, string>, ttl: number): void {
    const entries = Object.entries(detections ?? {});
    if (entries.length) {
      write.hset(this.detectionsKey(into), ...entries.flat());
      if (ttl > 0) write.pexpire(this.detectionsKey(into), ttl);
    }
    write
      .del(this.workloadKey(twin), this.detectionsKey(twin))
      .zrem(this.workloadsKey, twin)
      .srem(this.nsWorkloadsKey(namespaceKey(undefined, facts.namespace)), twin)
      // Only a names set an earlier version wrote lists a workload without a cluster (nameIn).
      .srem(this.namesKey(facts.namespace, facts.kind, facts.name), twin);
    for (const img of facts.images) if (img.digest) write.zrem(this.runningKey(img.digest), twin);
  }

  /**
   * Lists a workload under its name (`graph:names`), for lookups by name across clusters. A workload
   * known without a cluster is not listed: its id, `/<namespace>/<kind>/<name>`, is the name itself,
   * and findWorkloads always tries it. Most installations know one cluster, unnamed, so most names
   * need no set (about 0.23 KB of Redis and a command per workload).
   */
  private nameIn(write: ChainableCommander, facts: Pick<WorkloadFacts, 'id' | 'cluster' | 'namespace' | 'kind' | 'name'>): void {
    if (facts.cluster) write.sadd(this.namesKey(facts.namespace, facts.kind, facts.name), facts.id);
  }

  /** A Pod's facts fill in its controller's: digests from container statuses, pod labels. */
  private mergeWorkload(before: WorkloadFacts | undefined, fact: WorkloadFacts, fromPod: boolean, tagDigests: Map<string, string | undefined>): WorkloadFacts {
    const images = fact.images.map((img) => {
      if (img.digest) return img;
      const known = before?.images.find((p) => p.container === img.container && p.repository === img.repository && p.tag === img.tag && p.digest);
      if (known) return { ...img, digest: known.digest, linkedBy: known.linkedBy };
      const byTag = img.repository && img.tag ? tagDigests.get(`${img.repository}:${img.tag}`) : undefined;
      return byTag ? { ...img, digest: byTag, linkedBy: 'tag' as const } : img;
    });
    if (!fromPod || !before) return { ...fact, images };
    return {
      ...before,
      podLabels: before.podLabels ?? fact.labels,
      security: before.security ?? fact.security,
      containerPrivileges: [...new Set([...before.containerPrivileges, ...fact.containerPrivileges])],
      images: before.images.map((img) => {
        const fromStatus = images.find((p) => p.container === img.container && p.digest);
        return img.digest && img.linkedBy !== 'tag' ? img : fromStatus ? { ...img, digest: fromStatus.digest, linkedBy: 'digest' as const } : img;
      }),
      lastSeen: fact.lastSeen,
    };
  }

  /** Finds the workloads runtime events name: by kind and name, by pod, or by the Deployment a pod name implies. */
  async findWorkloads(lookups: WorkloadLookup[], derivedName: (pod: string) => string | undefined): Promise<(WorkloadFacts | undefined)[]> {
    if (!lookups.length) return [];
    const read = this.redis.pipeline();
    const candidates = lookups.map((l) => {
      const names: { kind: string; name: string }[] = [];
      if (l.kind && l.name) names.push({ kind: l.kind, name: l.name });
      const derived = l.pod ? derivedName(l.pod) : undefined;
      if (derived) names.push({ kind: 'Deployment', name: derived });
      return names;
    });
    lookups.forEach((l, i) => {
      if (l.pod) read.get(this.podKey(l.namespace, l.pod));
      for (const c of candidates[i]) read.smembers(this.namesKey(l.namespace, c.kind, c.name));
    });
    const values = read.length ? exec(await read.exec()) : [];
    let n = 0;
    const candidates_ = lookups.map((l, i) => {
      const byPod = l.pod ? (values[n++] as string | null) : null;
      // The names set lists the ids known with a cluster; the one without is the name itself (nameIn).
      const ids = candidates[i].flatMap((c) => [...(values[n++] as string[]), workloadId({ namespace: l.namespace, kind: c.kind, name: c.name })]);
      // Falco often knows no cluster name: then any cluster's workload of that name will do.
      return { byPod, ids: [...new Set(ids)].filter((id) => !l.cluster || id.startsWith(`${l.cluster}/`)) };
    });
    const facts = await this.workloads(candidates_.flatMap((c) => [...(c.byPod ? [c.byPod] : []), ...c.ids]));
    // The pod's own controller first; else what a snapshot described over what a runtime event taught,
    // a workload known with its cluster over one without, then by id: the same choice in any order.
    const rank = (id: string) => [facts.get(id)?.learnedFrom === 'runtime' ? 1 : 0, id.startsWith('/') ? 1 : 0] as const;
    return candidates_.map(({ byPod, ids }) => {
      if (byPod && facts.has(byPod)) return facts.get(byPod);
      const [id] = ids
        .filter((x) => facts.has(x))
        .sort((a, b) => {
          const [ra, rb] = [rank(a), rank(b)];
          return ra[0] - rb[0] || ra[1] - rb[1] || a.localeCompare(b);
        });
      return id ? facts.get(id) : undefined;
    });
  }

  /** Workload facts with lastSeen as the graph last heard of them (a snapshot or a runtime event). */
  async workloads(ids: string[]): Promise<Map<string, WorkloadFacts>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    // Two commands a chunk, not two per workload: a batch of runtime alerts names as many workloads as alerts.
    const read = this.redis.pipeline();
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      read.mget(chunk.map(this.workloadKey)).zmscore(this.workloadsKey, ...chunk);
    }
    const values = exec(await read.exec()) as (string | null)[][];
    const stored = values.filter((_, k) => k % 2 === 0).flat();
    const scores = values.filter((_, k) => k % 2 === 1).flat();
    const out = new Map<string, WorkloadFacts>();
    unique.forEach((id, i) => {
      const facts = workloadOf(id, stored[i], scores[i] ? new Date(Number(scores[i])).toISOString() : undefined);
      if (facts) out.set(id, facts);
    });
    return out;
  }

  /**
   * Records what runtime events saw, in one pipeline: the workloads they revealed or refreshed (they
   * run `digest` now, whatever the last snapshot said) and their detections, which count for `windowMs`
   * (the hash expires when the workload goes quiet). `known`: workloads read from the graph for these
   * events and unchanged by them; only their last-seen time moves. Returns each workload's detections
   * since `since` as stored after the write, and the views of its namespace, so scoring the same batch
   * reads them from here.
   */
  async recordSightings(
    seen: { facts: WorkloadFacts; digest?: string }[],
    known: Set<WorkloadFacts>,
    byWorkload: Map<string, DetectionFact[]>,
    windowMs: number,
    now: Date,
    since: Date,
  ): Promise<{ detections: Map<string, DetectionFact[]>; namespaces: Map<string, NamespaceView> }> {
    if (!seen.length && !byWorkload.size) return { detections: new Map(), namespaces: new Map() };
    const write = this.redis.pipeline();
    const at = now.getTime();
    // A workload seen several times is written once, as its last sighting has it (what writing each
    // left); members of one set go in one command.
    const last = new Map<string, WorkloadFacts>();
    const running = new Map<string, Set<string>>();
    for (const { facts, digest } of seen) {
      last.set(facts.id, facts);
      if (digest) running.set(digest, (running.get(digest) ?? new Set()).add(facts.id));
    }
    for (const [digest, ids] of running) write.zadd(this.runningKey(digest), ...[...ids].flatMap((id) => [at, id]));
    if (last.size) write.zadd(this.workloadsKey, ...[...last.keys()].flatMap((id) => [at, id]));
    const byNamespace = new Map<string, string[]>();
    const learnt: string[] = [];
    for (const [id, facts] of last) {
      if (known.has(facts)) continue;
      const ns = namespaceKey(facts.cluster, facts.namespace);
      const members = byNamespace.get(ns);
      if (members) members.push(id);
      else byNamespace.set(ns, [id]);
      learnt.push(this.workloadKey(id), storedWorkload(facts));
      this.nameIn(write, facts);
    }
    // One MSET a chunk: each alert of a batch may teach a workload of its own.
    for (let i = 0; i < learnt.length; i += 2 * CHUNK) write.mset(learnt.slice(i, i + 2 * CHUNK));
    for (const [ns, ids] of byNamespace) write.sadd(this.nsWorkloadsKey(ns), ...ids);
    const ids = [...byWorkload.keys()];
    // One script call a workload writes its detections, renews the window and reads them all back.
    for (const [id, detections] of byWorkload) {
      write.recordDetections(this.detectionsKey(id), String(windowMs), ...detections.flatMap((d) => [d.fingerprint, storedDetection(d)]));
    }
    const namespaces = [...new Set([...last.values()].map((f) => namespaceKey(f.cluster, f.namespace)))];
    this.readNamespaces(write, namespaces);
    const values = exec(await write.exec());
    const first = values.length - ids.length - 3 * namespaces.length;
    const lists = values.slice(first, first + ids.length) as string[][];
    return {
      detections: new Map(ids.map((id, i) => [id, detectionsSince(lists[i], since)])),
      namespaces: this.namespaceViews(namespaces, values.slice(first + ids.length)),
    };
  }

  async digestsByTag(refs: { repository: string; tag: string }[]): Promise<(string | undefined)[]> {
    if (!refs.length) return [];
    const values = await this.redis.mget(refs.map((r) => this.tagKey(r.repository, r.tag)));
    return values.map((v) => v ?? undefined);
  }

  async images(digests: string[]): Promise<Map<string, ImageFacts>> {
    const unique = [...new Set(digests)];
    if (!unique.length) return new Map();
    const values = await this.redis.mget(unique.map(this.imageKey));
    const records = new Map<string, FactRecord>();
    unique.forEach((d, i) => {
      const record = factRecordOf(values[i]);
      if (record) records.set(d, record);
    });
    // A commit's PRs may have arrived after the image (a workflow_run that published no digest).
    const commits = [...records].flatMap(([d, r]) => {
      const build = buildInfoOf(r);
      return build?.repo && build.commit ? [{ digest: d, key: this.commitKey(build.repo, build.commit) }] : [];
    });
    if (commits.length) {
      const builds = await this.redis.mget(commits.map((c) => c.key));
      commits.forEach((c, i) => {
        const record = factRecordOf(builds[i]);
        if (record) records.set(c.digest, mergeFacts(records.get(c.digest), { ...record, lastSeen: records.get(c.digest)!.lastSeen }));
      });
    }
    return new Map([...records].map(([d, r]) => [d, imageFactsOf(d, r)]));
  }

  /**
   * Merges what images and CI runs say into the digests' and commits' records, atomically, and returns
   * the digests whose facts changed: those a new image fact grew, and those built from a commit that
   * learnt something (a pull request, a branch).
   */
  private async mergeImageFacts(images: ImageAsset[], builds: BuildAsset[]): Promise<Set<string>> {
    const records: { key: string; record: FactRecord; digest?: string; commit?: string }[] = [];
    const index: { key: string; member: string }[] = [];
    for (const image of images) {
      records.push({ key: this.imageKey(image.digest), record: imageRecordOf(image, image.observedAt), digest: image.digest });
      if (image.build?.repo && image.build.commit) index.push({ key: this.commitDigestsKey(image.build.repo, image.build.commit), member: image.digest });
    }
    for (const build of builds) {
      const info = { repo: build.repo, commit: build.commit, branch: build.branch, pullRequests: build.pullRequests, url: build.url };
      records.push({
        key: this.commitKey(build.repo, build.commit),
        record: buildRecordOf(info, build.observedAt),
        commit: this.commitDigestsKey(build.repo, build.commit),
      });
      for (const digest of build.digests) {
        records.push({ key: this.imageKey(digest), record: imageRecordOf({ tags: [], build: info }, build.observedAt), digest });
        index.push({ key: this.commitDigestsKey(build.repo, build.commit), member: digest });
      }
    }
    const links = new Set<string>();
    if (!records.length) return links;
    // One script call per record (each on its own key, so any cluster slot), all in one pipeline with the index.
    const write = this.redis.pipeline();
    for (const r of records) write.mergeFacts(r.key, JSON.stringify(r.record));
    for (const i of index) write.sadd(i.key, i.member);
    const changed = (exec(await write.exec()) as number[]).slice(0, records.length);
    const commits = new Set<string>();
    records.forEach((r, i) => {
      if (!changed[i]) return;
      if (r.digest) links.add(r.digest);
      if (r.commit) commits.add(r.commit);
    });
    if (commits.size) {
      const read = this.redis.pipeline();
      for (const key of commits) read.smembers(key);
      for (const digests of exec(await read.exec()) as string[][]) for (const d of digests) links.add(d);
    }
    return links;
  }

  /** Workloads that ran each digest since `since`. */
  async runningWorkloads(digests: string[], since: Date): Promise<Map<string, string[]>> {
    const unique = [...new Set(digests)];
    if (!unique.length) return new Map();
    const read = this.redis.pipeline();
    for (const d of unique) read.zrangebyscore(this.runningKey(d), since.getTime(), '+inf');
    const values = exec(await read.exec()) as string[][];
    return new Map(unique.map((d, i) => [d, values[i]]));
  }

  async namespaces(keys: string[]): Promise<Map<string, NamespaceView>> {
    const unique = [...new Set(keys)];
    if (!unique.length) return new Map();
    const read = this.redis.pipeline();
    this.readNamespaces(read, unique);
    return this.namespaceViews(unique, exec(await read.exec()));
  }

  private readNamespaces(read: ChainableCommander, keys: string[]): void {
    for (const key of keys) read.get(this.namespaceKey(key)).hvals(this.servicesKey(key)).hvals(this.ingressesKey(key));
  }

  /** The views of `keys` from what `readNamespaces` queued for them. */
  private namespaceViews(keys: string[], values: unknown[]): Map<string, NamespaceView> {
    return new Map(
      keys.map((key, i) => [
        key,
        {
          facts: json(values[3 * i] as string | null),
          services: (values[3 * i + 1] as string[]).map((v) => JSON.parse(v) as ServiceFacts),
          ingresses: (values[3 * i + 2] as string[]).map((v) => JSON.parse(v) as IngressFacts),
        },
      ]),
    );
  }

  async workloadsIn(namespaceKeys: string[]): Promise<string[]> {
    if (!namespaceKeys.length) return [];
    const read = this.redis.pipeline();
    for (const key of namespaceKeys) read.smembers(this.nsWorkloadsKey(key));
    return [...new Set((exec(await read.exec()) as string[][]).flat())];
  }

  /** Workloads heard of since `since`, freshest first. */
  async liveWorkloads(since: Date): Promise<string[]> {
    return this.redis.zrevrangebyscore(this.workloadsKey, '+inf', since.getTime());
  }

  /**
   * Remembers each digest's vulnerabilities, per complete-report scope that reported them (`''` for a
   * report that is not complete). A complete report replaces its own scope's list only, so a Trivy
   * rescan drops what Trivy fixed and leaves what Grype or the Trivy Operator still report.
   * `byScope`: digest → scope key → facts; `complete`: digest → the complete scopes of this input.
   */
  async recordVulnerabilities(byScope: Map<string, Map<string, VulnerabilityFact[]>>, complete: Map<string, Set<string>>): Promise<void> {
    if (!byScope.size && !complete.size) return;
    const write = this.redis.pipeline();
    for (const [digest, scopes] of complete) for (const scope of scopes) write.del(this.vulnsKey(digest, scope));
    for (const [digest, scopes] of byScope) {
      for (const [scope, facts] of scopes) {
        write.sadd(this.vulnScopesKey(digest), scope);
        for (let i = 0; i < facts.length; i += CHUNK) {
          write.hset(this.vulnsKey(digest, scope), ...facts.slice(i, i + CHUNK).flatMap((f) => [f.fingerprint, JSON.stringify(f)]));
        }
      }
    }
    exec(await write.exec());
  }

  /** Each digest's vulnerabilities as all its scopes report them, one fact per fingerprint. */
  async vulnerabilities(digests: string[]): Promise<Map<string, VulnerabilityFact[]>> {
    const unique = [...new Set(digests)];
    if (!unique.length) return new Map();
    const scopes = await this.redis.pipeline(unique.map((d) => ['smembers', this.vulnScopesKey(d)])).exec();
    const lists = (exec(scopes) as string[][]).map((l) => [...l].sort());
    const read = this.redis.pipeline();
    unique.forEach((d, i) => lists[i].forEach((scope) => read.hvals(this.vulnsKey(d, scope))));
    const values = lists.some((l) => l.length) ? (exec(await read.exec()) as string[][]) : [];
    let n = 0;
    return new Map(
      unique.map((d, i) => {
        const facts = new Map<string, VulnerabilityFact>();
        for (const _ of lists[i])
          for (const v of values[n++]) {
            const fact = JSON.parse(v) as VulnerabilityFact;
            if (!facts.has(fact.fingerprint)) facts.set(fact.fingerprint, fact);
          }
        return [d, [...facts.values()]];
      }),
    );
  }

  async detections(ids: string[], since: Date): Promise<Map<string, DetectionFact[]>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const read = this.redis.pipeline();
    for (const id of unique) read.hgetall(this.detectionsKey(id));
    const values = exec(await read.exec()) as Record<string, string>[];
    return new Map(unique.map((id, i) => [id, detectionsSince(values[i], since)]));
  }

  /**
   * A finding's correlated context for its view (`GET /v1/findings/{fp}`): its current risk and reasons,
   * where its image runs, who built it and which PRs shipped the digest. Undefined before it was scored.
   */
  async describeContext(fingerprint: string, artifactDigest: string | undefined): Promise<CorrelatedContext | undefined> {
    const record = (await this.risks([fingerprint])).get(fingerprint);
    if (!record) return undefined;
    const digest = record.digest ?? (record.linkedBy === 'digest' ? artifactDigest : undefined);
    const image = digest ? (await this.images([digest])).get(digest) : undefined;
    return {
      risk: { score: record.score, reasons: record.reasons, at: record.at },
      environment: record.environment,
      exposure: record.exposure,
      image: digest ? { digest, linkedBy: record.linkedBy } : undefined,
      builtFrom: image?.build ?? record.build,
      runsIn: record.workloads,
    };
  }

  /** Retention: drops the risk records of findings that were removed. */
  async forgetRisk(fingerprints: string[]): Promise<void> {
    for (let i = 0; i < fingerprints.length; i += CHUNK) await this.redis.unlink(...fingerprints.slice(i, i + CHUNK).map(this.riskKey));
  }

  /** Retention: drops the vulnerability facts kept per digest for digests no longer current. */
  async forgetDigests(digests: string[]): Promise<void> {
    for (let i = 0; i < digests.length; i += CHUNK) {
      const chunk = digests.slice(i, i + CHUNK);
      const scopes = exec(await this.redis.pipeline(chunk.map((d) => ['smembers', this.vulnScopesKey(d)])).exec()) as string[][];
      const keys = chunk.flatMap((d, j) => [this.vulnScopesKey(d), ...scopes[j].map((scope) => this.vulnsKey(d, scope))]);
      await this.redis.unlink(...keys);
    }
  }

  async saveRisk(records: Map<string, RiskRecord>): Promise<void> {
    if (!records.size) return;
    const entries = [...records];
    const write = this.redis.pipeline();
    for (let i = 0; i < entries.length; i += CHUNK) {
      write.mset(entries.slice(i, i + CHUNK).flatMap(([fp, r]) => [this.riskKey(fp), storedRisk(r)]));
    }
    exec(await write.exec());
  }

  async risks(fingerprints: string[]): Promise<Map<string, RiskRecord>> {
    const out = new Map<string, RiskRecord>();
    if (!fingerprints.length) return out;
    const read = this.redis.pipeline();
    for (let i = 0; i < fingerprints.length; i += CHUNK) read.mgetBuffer(fingerprints.slice(i, i + CHUNK).map(this.riskKey));
    const values = (exec(await read.exec()) as (Buffer | null)[][]).flat();
    fingerprints.forEach((fp, i) => {
      const record = riskOf(values[i]);
      if (record) out.set(fp, record);
    });
    return out;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    mergeFacts(key: string, record: string): Result<number, Context>;
    recordDetections(key: string, windowMs: string, ...fieldsAndValues: string[]): Result<string[], Context>;
  }
}
