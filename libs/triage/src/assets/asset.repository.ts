import type { Redis } from 'ioredis';
import type { Asset, BuildAsset, ImageAsset, Risk, WorkloadAsset } from '@klaxon/findings';
import type { BuildInfo, LinkedBy } from '../risk/risk';
import {
  namespaceKey,
  workloadFactsOf,
  type DetectionFact,
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
}

/** The risk a finding was last given, with the context that explains it (what `GET /v1/findings/{fp}` shows). */
export interface RiskRecord extends Risk {
  at: string;
  environment?: string;
  exposure?: string;
  digest?: string;
  linkedBy?: LinkedBy;
  workloads: { id: string; environment?: string; exposedVia: string[]; owners: Record<string, string> }[];
  build?: BuildInfo;
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

function mergeBuild(a: BuildInfo | undefined, b: BuildInfo | undefined): BuildInfo | undefined {
  if (!a || !b) return a ?? b;
  return {
    repo: b.repo ?? a.repo,
    commit: b.commit ?? a.commit,
    branch: b.branch ?? a.branch,
    url: b.url ?? a.url,
    pullRequests: [...new Set([...a.pullRequests, ...b.pullRequests])].sort((x, y) => x - y),
  };
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
  ) {}

  private k(...parts: string[]) {
    return `${this.prefix}:graph:${parts.join(':')}`;
  }
  private imageKey = (digest: string) => this.k('image', digest);
  private commitKey = (repo: string, commit: string) => this.k('commit', repo, commit);
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
  private vulnsKey = (digest: string) => this.k('vulns', digest);
  private detectionsKey = (id: string) => this.k('detections', id);
  private riskKey = (fp: string) => this.k('risk', fp);

  /**
   * Records the assets of one input. Workloads that are gone (`deleted`) leave the graph; a workload
   * whose images changed stops counting for the digests it no longer runs.
   */
  async recordAssets(assets: Asset[], now: Date): Promise<GraphChanges> {
    const changes: GraphChanges = { workloads: new Set(), namespaces: new Set(), digests: new Set(), newVulnerabilities: new Set() };
    if (!assets.length) return changes;
    const images = assets.filter((a): a is ImageAsset => a.type === 'image');
    const builds = assets.filter((a): a is BuildAsset => a.type === 'build');
    const workloads = assets.filter((a): a is WorkloadAsset => a.type === 'workload');

    // Read what the writes depend on: build records of the images' commits, images of the builds'
    // digests, the previous facts of each workload and the digests of tag-only images.
    const facts = workloads.map(workloadFactsOf);
    const ids = [...new Set(facts.map((f) => f.id))];
    const tagRefs = [
      ...new Set(facts.flatMap((f) => f.images.filter((i) => !i.digest && i.repository && i.tag).map((i) => `${i.repository}:${i.tag}`))),
    ];
    const exposure = assets.filter((a) => a.type === 'service' || a.type === 'ingress' || a.type === 'namespace');
    const read = this.redis.pipeline();
    for (const i of images) if (i.build?.repo && i.build.commit) read.get(this.commitKey(i.build.repo, i.build.commit));
    for (const b of builds) for (const d of b.digests) read.get(this.imageKey(d));
    for (const id of ids) read.get(this.workloadKey(id));
    for (const ref of tagRefs) read.get(this.tagKey(ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)));
    for (const a of exposure) {
      if (a.type === 'namespace') read.get(this.namespaceKey(namespaceKey(a.cluster, a.name)));
      else read.hget(a.type === 'service' ? this.servicesKey(namespaceKey(a.cluster, a.namespace)) : this.ingressesKey(namespaceKey(a.cluster, a.namespace)), a.name);
    }
    const values = exec(await read.exec()) as (string | null)[];
    let n = 0;
    const commitBuilds = images.filter((i) => i.build?.repo && i.build.commit).map(() => json<BuildInfo>(values[n++]));
    const buildImages = builds.flatMap((b) => b.digests.map(() => json<ImageFacts>(values[n++])));
    const previous = new Map(ids.map((id) => [id, json<WorkloadFacts>(values[n++])]));
    const tagDigests = new Map(tagRefs.map((ref) => [ref, values[n++] ?? undefined]));
    const previousExposure = exposure.map(() => values[n++]);

    const write = this.redis.pipeline();
    const at = now.getTime();

    // Images: tags, OCI/CI build info, merged with what the commit's CI run said.
    let c = 0;
    for (const image of images) {
      const commitBuild = image.build?.repo && image.build.commit ? commitBuilds[c++] : undefined;
      const build = mergeBuild(commitBuild, image.build as BuildInfo | undefined);
      const stored: ImageFacts = { digest: image.digest, registry: image.registry, repository: image.repository, tags: image.tags, build, lastSeen: image.observedAt };
      write.set(this.imageKey(image.digest), JSON.stringify(stored));
      if (image.repository) for (const tag of image.tags) write.set(this.tagKey(image.repository, tag), image.digest);
    }
    // Builds: the commit remembers its PRs (an image pushed later by that commit finds them), and
    // the digests the run published learn where they came from.
    let b = 0;
    for (const build of builds) {
      const info: BuildInfo = { repo: build.repo, commit: build.commit, branch: build.branch, pullRequests: build.pullRequests, url: build.url };
      write.set(this.commitKey(build.repo, build.commit), JSON.stringify(info));
      for (const digest of build.digests) {
        const existing = buildImages[b++];
        const stored: ImageFacts = existing
          ? { ...existing, build: mergeBuild(existing.build, info) }
          : { digest, tags: [], build: info, lastSeen: build.observedAt };
        write.set(this.imageKey(digest), JSON.stringify(stored));
      }
    }

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
        for (const img of before?.images ?? []) if (img.digest) (write.zrem(this.runningKey(img.digest), fact.id), changes.digests.add(img.digest));
        changes.workloads.add(fact.id);
        previous.set(fact.id, undefined);
        continue;
      }
      const merged = this.mergeWorkload(before, fact, asset.kind === 'Pod' && !!asset.controller, tagDigests);
      previous.set(fact.id, merged);
      write
        .set(this.workloadKey(fact.id), JSON.stringify(merged))
        .zadd(this.workloadsKey, at, fact.id)
        .sadd(this.nsWorkloadsKey(nsKey), fact.id)
        .sadd(this.namesKey(fact.namespace, fact.kind, fact.name), fact.id);
      const now_ = new Set(merged.images.flatMap((img) => (img.digest ? [img.digest] : [])));
      const then = new Set((before?.images ?? []).flatMap((img) => (img.digest ? [img.digest] : [])));
      for (const d of now_) write.zadd(this.runningKey(d), at, fact.id);
      for (const d of then) if (!now_.has(d)) write.zrem(this.runningKey(d), fact.id);
      if (!before || JSON.stringify({ ...before, lastSeen: '' }) !== JSON.stringify({ ...merged, lastSeen: '' })) {
        changes.workloads.add(fact.id);
        for (const d of new Set([...now_, ...then])) changes.digests.add(d);
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
      read.get(l.pod ? this.podKey(l.namespace, l.pod) : this.k('none'));
      for (const c of candidates[i]) read.smembers(this.namesKey(l.namespace, c.kind, c.name));
    });
    const values = exec(await read.exec());
    let n = 0;
    const chosen = lookups.map((l, i) => {
      const byPod = values[n++] as string | null;
      const ids = candidates[i].flatMap(() => values[n++] as string[]);
      const all = [...(byPod ? [byPod] : []), ...ids];
      // Falco often knows no cluster name: then any cluster's workload of that name will do.
      return all.find((id) => !l.cluster || id.startsWith(`${l.cluster}/`));
    });
    const facts = await this.workloads(chosen.filter((id): id is string => !!id));
    return chosen.map((id) => (id ? facts.get(id) : undefined));
  }

  /** Workload facts with lastSeen as the graph last heard of them (a snapshot or a runtime event). */
  async workloads(ids: string[]): Promise<Map<string, WorkloadFacts>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const read = this.redis.pipeline();
    for (const id of unique) read.get(this.workloadKey(id)).zscore(this.workloadsKey, id);
    const values = exec(await read.exec());
    const out = new Map<string, WorkloadFacts>();
    unique.forEach((id, i) => {
      const facts = json<WorkloadFacts>(values[2 * i] as string | null);
      const score = values[2 * i + 1] as string | null;
      if (facts) out.set(id, { ...facts, lastSeen: score ? new Date(Number(score)).toISOString() : facts.lastSeen });
    });
    return out;
  }

  /** Workloads a runtime event revealed (or refreshed): they run `digest` now, whatever the last snapshot said. */
  async recordRunning(seen: { facts: WorkloadFacts; digest?: string }[], now: Date): Promise<void> {
    if (!seen.length) return;
    const write = this.redis.pipeline();
    const at = now.getTime();
    for (const { facts, digest } of seen) {
      write
        .set(this.workloadKey(facts.id), JSON.stringify(facts))
        .zadd(this.workloadsKey, at, facts.id)
        .sadd(this.nsWorkloadsKey(namespaceKey(facts.cluster, facts.namespace)), facts.id)
        .sadd(this.namesKey(facts.namespace, facts.kind, facts.name), facts.id);
      if (digest) write.zadd(this.runningKey(digest), at, facts.id);
    }
    exec(await write.exec());
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
    const out = new Map<string, ImageFacts>();
    unique.forEach((d, i) => {
      const facts = json<ImageFacts>(values[i]);
      if (facts) out.set(d, facts);
    });
    // A commit's PRs may have arrived after the image (a workflow_run that published no digest).
    const commits = [...out.values()].filter((f) => f.build?.repo && f.build.commit);
    if (commits.length) {
      const builds = await this.redis.mget(commits.map((f) => this.commitKey(f.build!.repo!, f.build!.commit!)));
      commits.forEach((f, i) => out.set(f.digest, { ...f, build: mergeBuild(json<BuildInfo>(builds[i]), f.build) }));
    }
    return out;
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
    for (const key of unique) read.get(this.namespaceKey(key)).hvals(this.servicesKey(key)).hvals(this.ingressesKey(key));
    const values = exec(await read.exec());
    return new Map(
      unique.map((key, i) => [
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
   * Remembers each digest's vulnerabilities. For a complete report of a digest the list is replaced,
   * so a vulnerability fixed by a rescan stops raising that image's runtime detections.
   */
  async recordVulnerabilities(byDigest: Map<string, VulnerabilityFact[]>, complete: Set<string>): Promise<void> {
    const write = this.redis.pipeline();
    for (const digest of complete) if (!byDigest.has(digest)) write.del(this.vulnsKey(digest));
    for (const [digest, facts] of byDigest) {
      if (complete.has(digest)) write.del(this.vulnsKey(digest));
      for (let i = 0; i < facts.length; i += CHUNK) {
        write.hset(this.vulnsKey(digest), ...facts.slice(i, i + CHUNK).flatMap((f) => [f.fingerprint, JSON.stringify(f)]));
      }
    }
    exec(await write.exec());
  }

  async vulnerabilities(digests: string[]): Promise<Map<string, VulnerabilityFact[]>> {
    const unique = [...new Set(digests)];
    if (!unique.length) return new Map();
    const read = this.redis.pipeline();
    for (const d of unique) read.hvals(this.vulnsKey(d));
    const values = exec(await read.exec()) as string[][];
    return new Map(unique.map((d, i) => [d, values[i].map((v) => JSON.parse(v) as VulnerabilityFact)]));
  }

  /** Runtime detections per workload; they count for `windowMs` (the hash expires when the workload goes quiet). */
  async recordDetections(byWorkload: Map<string, DetectionFact[]>, windowMs: number): Promise<void> {
    if (!byWorkload.size) return;
    const write = this.redis.pipeline();
    for (const [id, detections] of byWorkload) {
      write.hset(this.detectionsKey(id), ...detections.flatMap((d) => [d.fingerprint, JSON.stringify(d)]));
      write.pexpire(this.detectionsKey(id), windowMs);
    }
    exec(await write.exec());
  }

  async detections(ids: string[], since: Date): Promise<Map<string, DetectionFact[]>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const read = this.redis.pipeline();
    for (const id of unique) read.hvals(this.detectionsKey(id));
    const values = exec(await read.exec()) as string[][];
    const cutoff = since.toISOString();
    return new Map(
      unique.map((id, i) => [id, values[i].map((v) => JSON.parse(v) as DetectionFact).filter((d) => d.at >= cutoff).sort((a, b) => b.at.localeCompare(a.at))]),
    );
  }

  /**
   * A finding's correlated context for its view (`GET /v1/findings/{fp}`): its current risk and reasons,
   * where its image runs, who built it and which PRs shipped the digest. Undefined before it was scored.
   */
  async describeContext(fingerprint: string): Promise<CorrelatedContext | undefined> {
    const record = (await this.risks([fingerprint])).get(fingerprint);
    if (!record) return undefined;
    return {
      risk: { score: record.score, reasons: record.reasons, at: record.at },
      environment: record.environment,
      exposure: record.exposure,
      image: record.digest ? { digest: record.digest, linkedBy: record.linkedBy } : undefined,
      builtFrom: record.build,
      runsIn: record.workloads,
    };
  }

  /** Retention: drops the risk records of findings that were removed. */
  async forgetRisk(fingerprints: string[]): Promise<void> {
    for (let i = 0; i < fingerprints.length; i += CHUNK) await this.redis.unlink(...fingerprints.slice(i, i + CHUNK).map(this.riskKey));
  }

  /** Retention: drops the vulnerability facts kept per digest for digests no longer current. */
  async forgetDigests(digests: string[]): Promise<void> {
    for (let i = 0; i < digests.length; i += CHUNK) await this.redis.unlink(...digests.slice(i, i + CHUNK).map(this.vulnsKey));
  }

  async saveRisk(records: Map<string, RiskRecord>): Promise<void> {
    const entries = [...records];
    const write = this.redis.pipeline();
    for (let i = 0; i < entries.length; i += CHUNK) {
      write.mset(entries.slice(i, i + CHUNK).flatMap(([fp, r]) => [this.riskKey(fp), JSON.stringify(r)]));
    }
    exec(await write.exec());
  }

  async risks(fingerprints: string[]): Promise<Map<string, RiskRecord>> {
    const out = new Map<string, RiskRecord>();
    if (!fingerprints.length) return out;
    const read = this.redis.pipeline();
    for (let i = 0; i < fingerprints.length; i += CHUNK) read.mget(fingerprints.slice(i, i + CHUNK).map(this.riskKey));
    const values = (exec(await read.exec()) as (string | null)[][]).flat();
    fingerprints.forEach((fp, i) => {
      const record = json<RiskRecord>(values[i]);
      if (record) out.set(fp, record);
    });
    return out;
  }
}

