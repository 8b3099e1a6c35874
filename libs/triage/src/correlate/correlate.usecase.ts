import { matches as matchesRecord, type Batch, type Finding, type Matcher } from '@klaxon/findings';
import type { KlaxonConfig, RouteConfig } from '@klaxon/platform';
import { matchRoutes } from '@klaxon/routing';
import type { AssetRepository, GraphChanges, RiskRecord } from '../assets/asset.repository';
import { namespaceKey, workloadContext, workloadId, type DetectionFact, type NamespaceView, type VulnerabilityFact, type WorkloadFacts } from '../assets/facts';
import { findingOf, type DerivedFields, type FindingRepository } from '../finding.repository';
import { scoreRisk, type BuildInfo, type FindingContext, type LinkedBy, type RiskAssessment, type RiskSubject, type WorkloadContext } from '../risk/risk';

export type CorrelateConfig = Pick<KlaxonConfig, 'context' | 'risk' | 'routes'>;

/** One finding to score: what it is, and where the graph places it. */
interface Subject {
  fingerprint: string;
  finding: RiskSubject;
  /** The image digest it is about (vulnerability) or ran in (runtime). */
  digest?: string;
  /** Runtime: the workload it fired in, and how its image was linked. */
  workload?: string;
  linkedBy?: LinkedBy;
}

/**
 * What correlation read of the graph, or wrote itself, during one batch: scoring and rescoring the
 * same batch look at the same workloads, and nothing of these changes between them.
 */
interface Reads {
  /** undefined: the graph has no such workload. */
  workloads: Map<string, WorkloadFacts | undefined>;
  /** Detections within the runtime window, newest first. */
  detections: Map<string, DetectionFact[] | undefined>;
  namespaces: Map<string, NamespaceView | undefined>;
}

/**
 * The values of `keys` from what the batch read already, reading once those it has not: a key the
 * graph does not have is remembered as undefined and left out of the answer.
 */
async function readOnce<V>(keys: string[], cache: Map<string, V | undefined>, read: (missing: string[]) => Promise<Map<string, V>>): Promise<Map<string, V>> {
  const unique = [...new Set(keys)];
  const missing = unique.filter((key) => !cache.has(key));
  if (missing.length) {
    const values = await read(missing);
    for (const key of missing) cache.set(key, values.get(key));
  }
  const out = new Map<string, V>();
  for (const key of unique) {
    const value = cache.get(key);
    if (value !== undefined) out.set(key, value);
  }
  return out;
}

interface Scored {
  risk: RiskAssessment;
  context: FindingContext;
  linkedBy?: LinkedBy;
}

export interface CorrelateResult {
  /** The batch with environment, exposure, risk and correlated context on each finding. */
  batch: Batch;
  /** Stored open findings whose routes (`rescored`) or pull request, commit, image (`updated`) changed: to be routed again. */
  rescored: Rerouted[];
  /** How many stored findings were scored again because their context changed. */
  rescoredCount: number;
}

/** Pods of a Deployment are `<deployment>-<pod-template-hash>-<5 random>` (Kubernetes' rand alphabet). */
const POD_OF_REPLICASET = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/;
const deploymentOfPod = (pod: string) => POD_OF_REPLICASET.exec(pod)?.[1];

/** Routing fields whose value correlation decides. */
const CONTEXT_FIELDS = new Set(['risk.score', 'environment', 'exposure']);

function contextMatchers(route: RouteConfig): Matcher[] {
  return [...route.match.filter((m) => CONTEXT_FIELDS.has(m.field)), ...route.routes.flatMap(contextMatchers)];
}

const HIGH_OR_CRITICAL = new Set(['critical', 'high']);

/**
 * Correlation for one batch: records its assets and runtime sightings in the graph, scores each
 * finding in its context (where its image runs, how exposed, who built it), and scores again the
 * stored findings whose context this batch changed, returning those whose routes change with it.
 */
export class CorrelateFindings {
  private readonly matchers: Matcher[];

  constructor(
    private readonly assets: AssetRepository,
    private readonly findings: FindingRepository,
    private readonly config: CorrelateConfig,
  ) {
    this.matchers = contextMatchers(config.routes);
  }

  private get windowMs() {
    return this.config.risk.runtimeWindowHours * 3_600_000;
  }

  async execute(batch: Batch, now: Date): Promise<CorrelateResult> {
    const changes = await this.assets.recordAssets(batch.assets, now);
    const reads: Reads = { workloads: new Map(), detections: new Map(), namespaces: new Map() };
    const subjects = await this.place(batch, now, changes, reads);
    const scored = await this.score(subjects, now, reads);
    const findings = batch.findings.map((f) => {
      const s = scored.get(f.fingerprint);
      return s ? enrich(f, s) : f;
    });
    await this.assets.saveRisk(new Map([...scored].map(([fp, s]) => [fp, riskRecord(s, now)])));
    const { rescored, count } = await this.rescore(changes, new Set(batch.findings.map((f) => f.fingerprint)), now, reads);
    return { batch: { ...batch, findings }, rescored, rescoredCount: count };
  }

  /**
   * Places each finding in the graph. Runtime findings resolve their workload (by name, by pod, by the
   * Deployment a pod name implies) and their image digest (from the event, the workload's containers,
   * or the tag), and record the sighting; vulnerabilities are remembered per digest.
   */
  private async place(batch: Batch, now: Date, changes: GraphChanges, reads: Reads): Promise<Subject[]> {
    const runtime = batch.findings.filter((f) => f.kind === 'runtime' && f.workload?.namespace);
    const found = await this.assets.findWorkloads(
      runtime.map((f) => ({ ...f.workload!, namespace: f.workload!.namespace! })),
      deploymentOfPod,
    );
    const unresolvedTags = batch.findings.filter((f) => !f.artifact?.digest && f.artifact?.repository && f.artifact.tag);
    const tagDigests = await this.assets.digestsByTag(unresolvedTags.map((f) => ({ repository: f.artifact!.repository!, tag: f.artifact!.tag! })));
    const byTag = new Map(unresolvedTags.map((f, i) => [f.fingerprint, tagDigests[i]]));

    const subjects = new Map<string, Subject>();
    const sightings: { facts: WorkloadFacts; digest?: string }[] = [];
    const known = new Set(found.filter((f): f is WorkloadFacts => !!f));
    const detections = new Map<string, DetectionFact[]>();
    runtime.forEach((f, i) => {
      const w = f.workload!;
      let facts = found[i];
      const name =
        w.kind && w.name ? { kind: w.kind, name: w.name } : w.pod && deploymentOfPod(w.pod) ? { kind: 'Deployment', name: deploymentOfPod(w.pod)! } : undefined;
      const image = facts?.images.find((img) => (w.container && img.container === w.container) || img.repository === f.artifact?.repository);
      let digest = f.artifact?.digest;
      let linkedBy: LinkedBy | undefined = digest ? 'digest' : undefined;
      if (!digest && image?.digest) [digest, linkedBy] = [image.digest, 'workload'];
      if (!digest && byTag.get(f.fingerprint)) [digest, linkedBy] = [byTag.get(f.fingerprint), 'tag'];
      if (!facts && name) {
        // Known only from this event: the graph learns the workload from it (no snapshot has it yet).
        const base = { cluster: w.cluster, namespace: w.namespace!, ...name };
        facts = {
          id: workloadId(base),
          ...base,
          labels: {},
          // An image only when the event names one: a container, a repository or a digest (most alerts name none).
          images:
            w.container || f.artifact?.repository || digest
              ? [{ container: w.container ?? '', repository: f.artifact?.repository, tag: f.artifact?.tag, digest, linkedBy }]
              : [],
          containerPrivileges: [],
          lastSeen: now.toISOString(),
          learnedFrom: 'runtime',
        };
      }
      if (!facts) {
        subjects.set(f.fingerprint, { fingerprint: f.fingerprint, finding: f, digest, linkedBy });
        return;
      }
      sightings.push({ facts, digest });
      const detection: DetectionFact = {
        fingerprint: f.fingerprint,
        title: f.rule.name ?? f.rule.id,
        rule: f.rule.id,
        severity: f.severity,
        at: f.observedAt,
        digest,
        linkedBy,
        container: w.container,
        repository: f.artifact?.repository,
      };
      const list = detections.get(facts.id);
      if (list) list.push(detection);
      else detections.set(facts.id, [detection]);
      changes.workloads.add(facts.id);
      subjects.set(f.fingerprint, { fingerprint: f.fingerprint, finding: f, digest, workload: facts.id, linkedBy });
    });
    const recorded = await this.assets.recordSightings(sightings, known, detections, this.windowMs, now, new Date(now.getTime() - this.windowMs));
    // What the graph holds now for these workloads, as a read would return it: the facts last written, seen now.
    const written = new Map(sightings.map(({ facts }) => [facts.id, facts]));
    for (const [id, facts] of written) reads.workloads.set(id, plain({ ...facts, lastSeen: now.toISOString() }));
    for (const [id, list] of recorded.detections) reads.detections.set(id, list);
    for (const [key, view] of recorded.namespaces) reads.namespaces.set(key, view);

    // `image:<digest>` or a tool's own view `image:<digest>/<tool>`: each complete scan of a digest
    // replaces what that scan said before; runtime detections read what all of them say now.
    const complete = new Map<string, Set<string>>();
    for (const s of batch.scopes) {
      if (!s.key.startsWith('image:') || !s.kinds.includes('vulnerability')) continue;
      const digest = s.key.slice('image:'.length).split('/')[0];
      complete.set(digest, new Set([...(complete.get(digest) ?? []), s.key]));
    }
    const vulns = new Map<string, Map<string, VulnerabilityFact[]>>();
    for (const f of batch.findings) {
      if (f.kind !== 'vulnerability' || subjects.has(f.fingerprint)) continue;
      const digest = f.artifact?.digest ?? byTag.get(f.fingerprint);
      subjects.set(f.fingerprint, { fingerprint: f.fingerprint, finding: f, digest, linkedBy: f.artifact?.digest ? 'digest' : digest ? 'tag' : undefined });
      if (!digest || !f.package) continue;
      const scope = [...(complete.get(digest) ?? [])].sort()[0] ?? '';
      const byScope = vulns.get(digest) ?? new Map<string, VulnerabilityFact[]>();
      byScope.set(scope, [...(byScope.get(scope) ?? []), vulnerabilityFact(f)]);
      vulns.set(digest, byScope);
    }
    for (const f of batch.findings)
      if (!subjects.has(f.fingerprint)) subjects.set(f.fingerprint, { fingerprint: f.fingerprint, finding: f, digest: f.artifact?.digest });
    await this.assets.recordVulnerabilities(vulns, complete);
    // A new scan of an image changes how its runtime detections read.
    for (const d of [...vulns.keys(), ...complete.keys()]) changes.newVulnerabilities.add(d);
    return [...subjects.values()];
  }

  /** Scores subjects with one round of graph reads for all of them. */
  private async score(subjects: Subject[], now: Date, reads: Reads): Promise<Map<string, Scored>> {
    if (!subjects.length) return new Map();
    const since = new Date(now.getTime() - this.config.risk.factsMaxAgeHours * 3_600_000);
    const digests = subjects.flatMap((s) => (s.digest ? [s.digest] : []));
    const runtimeDigests = subjects.flatMap((s) => (s.workload && s.digest ? [s.digest] : []));
    const [images, running, vulnerabilities] = await Promise.all([
      this.assets.images(digests),
      this.assets.runningWorkloads(
        subjects.filter((s) => !s.workload && s.digest).map((s) => s.digest!),
        since,
      ),
      this.assets.vulnerabilities(runtimeDigests),
    ]);
    const ids = [...new Set([...subjects.flatMap((s) => (s.workload ? [s.workload] : [])), ...[...running.values()].flat()])];
    const [workloads, detections] = await Promise.all([this.workloads(ids, reads), this.detections(ids, now, reads)]);
    const live = [...workloads.values()].filter((w) => w.lastSeen >= since.toISOString());
    const namespaces = await this.namespaces(
      live.map((w) => namespaceKey(w.cluster, w.namespace)),
      reads,
    );

    // Thousands of findings share a handful of workloads: read each workload's context once.
    const contexts = new Map<string, WorkloadContext>();
    const contextOf = (w: WorkloadFacts, linkedBy: LinkedBy) => {
      const key = `${linkedBy}\u0000${w.id}`;
      let c = contexts.get(key);
      if (!c) {
        const ns = namespaces.get(namespaceKey(w.cluster, w.namespace)) ?? { services: [], ingresses: [] };
        c = workloadContext(w, ns, detections.get(w.id) ?? [], linkedBy, this.config.context);
        contexts.set(key, c);
      }
      return c;
    };

    const out = new Map<string, Scored>();
    for (const s of subjects) {
      const image = s.digest ? images.get(s.digest) : undefined;
      const context: FindingContext = {
        image: s.digest ? { digest: s.digest, repository: image?.repository, tags: image?.tags ?? [], build: image?.build } : undefined,
        workloads: [],
        vulnerabilities: [],
      };
      if (s.workload) {
        const w = workloads.get(s.workload);
        if (w) context.workloads.push(contextOf(w, s.linkedBy ?? 'workload'));
        context.vulnerabilities = s.digest
          ? (vulnerabilities.get(s.digest) ?? []).map((v) => ({
              fingerprint: v.fingerprint,
              id: v.id,
              package: v.package,
              installed: v.installed,
              fixed: v.fixed,
              severity: v.severity,
              fixable: v.fixable,
            }))
          : [];
      } else if (s.digest) {
        for (const id of running.get(s.digest) ?? []) {
          const w = workloads.get(id);
          if (!w || w.lastSeen < since.toISOString()) continue;
          const link = w.images.find((img) => img.digest === s.digest)?.linkedBy ?? 'digest';
          context.workloads.push(contextOf(w, s.linkedBy === 'tag' ? 'tag' : link));
        }
      }
      out.set(s.fingerprint, { risk: scoreRisk(s.finding, context, this.config.risk, now), context, linkedBy: s.linkedBy });
    }
    return out;
  }

  /** Workload facts by id (those the graph has), read once per batch. */
  private workloads(ids: string[], reads: Reads): Promise<Map<string, WorkloadFacts>> {
    return readOnce(ids, reads.workloads, (missing) => this.assets.workloads(missing));
  }

  /** Each workload's detections within the runtime window, read once per batch. */
  private detections(ids: string[], now: Date, reads: Reads): Promise<Map<string, DetectionFact[]>> {
    return readOnce(ids, reads.detections, (missing) => this.assets.detections(missing, new Date(now.getTime() - this.windowMs)));
  }

  /** Namespace views by key, read once per batch. */
  private namespaces(keys: string[], reads: Reads): Promise<Map<string, NamespaceView>> {
    return readOnce(keys, reads.namespaces, (missing) => this.assets.namespaces(missing));
  }

  /**
   * Scores again the stored findings around what this batch changed: vulnerabilities of the images of
   * changed workloads (exposed, moved, a new detection), runtime detections of workloads whose image
   * got a new scan, and every open finding of a digest whose links grew (its commit, its pull request,
   * the workloads running it). A finding whose routes change goes back to routing as `rescored`; one
   * whose routes stay but whose pull request, commit or owners changed as `updated` (its groups send
   * again, so a PR learnt late gets the comment).
   */
  private async rescore(changes: GraphChanges, skip: Set<string>, now: Date, reads: Reads): Promise<{ rescored: Rerouted[]; count: number }> {
    const workloadIds = new Set([...changes.workloads, ...(await this.assets.workloadsIn([...changes.namespaces]))]);
    const since = new Date(now.getTime() - this.config.risk.factsMaxAgeHours * 3_600_000);
    const runningOnNew = await this.assets.runningWorkloads([...changes.newVulnerabilities, ...changes.digests, ...changes.links], since);
    const linkedWorkloads = new Set<string>();
    for (const [digest, ids] of runningOnNew) {
      for (const id of ids) {
        workloadIds.add(id);
        if (changes.links.has(digest)) linkedWorkloads.add(id);
      }
    }
    if (!workloadIds.size && !changes.digests.size && !changes.links.size) return { rescored: [], count: 0 };

    const workloads = await this.workloads([...workloadIds], reads);
    const vulnDigests = new Set([
      ...changes.digests,
      ...changes.links,
      ...[...workloads.values()].flatMap((w) => w.images.flatMap((i) => (i.digest ? [i.digest] : []))),
    ]);
    for (const d of changes.newVulnerabilities) if (!changes.links.has(d)) vulnDigests.delete(d);
    const none = { fingerprints: [] as string[] };
    const [vulns, detections, linkedOpen, digestsOpen] = await Promise.all([
      this.assets.vulnerabilities([...vulnDigests]),
      this.detections([...workloadIds], now, reads),
      changes.links.size ? this.findings.query({ digest: [...changes.links], state: ['open'] }, 0, LINKED_MAX) : none,
      vulnDigests.size ? this.findings.query({ digest: [...vulnDigests], state: ['open'] }, 0, LINKED_MAX) : none,
    ]);
    const subjects = new Map<string, Subject>();
    const linked = new Set(linkedOpen.fingerprints.filter((fp) => !skip.has(fp)));
    for (const [digest, facts] of vulns) {
      for (const v of facts) {
        if (skip.has(v.fingerprint) || subjects.has(v.fingerprint)) continue;
        subjects.set(v.fingerprint, { fingerprint: v.fingerprint, finding: vulnerabilitySubject(v), digest, linkedBy: 'digest' });
        if (changes.links.has(digest)) linked.add(v.fingerprint);
      }
    }
    for (const [id, list] of detections) {
      for (const d of list) {
        if (skip.has(d.fingerprint) || subjects.has(d.fingerprint)) continue;
        // A detection that came before its workload's image was known reads it from the workload now.
        const image = d.digest
          ? undefined
          : workloads
              .get(id)
              ?.images.find((i) => i.digest && ((d.container && i.container === d.container) || (d.repository && i.repository === d.repository)));
        subjects.set(d.fingerprint, {
          fingerprint: d.fingerprint,
          finding: { kind: 'runtime', severity: d.severity, fixable: false, rule: { id: d.rule } },
          digest: d.digest ?? image?.digest,
          workload: id,
          linkedBy: d.linkedBy ?? (image ? 'workload' : undefined),
        });
        if (linkedWorkloads.has(id) || changes.workloads.has(id)) linked.add(d.fingerprint);
      }
    }
    // Other open findings of those digests (secrets, image checks, SARIF results): scored from their record.
    const others = await this.findings.getMany([...new Set([...linked, ...digestsOpen.fingerprints])].filter((fp) => !subjects.has(fp) && !skip.has(fp)));
    for (const r of others) {
      if (r.kind === 'runtime' || !r.artifact?.digest) continue;
      subjects.set(r.fingerprint, { fingerprint: r.fingerprint, finding: r, digest: r.artifact.digest, linkedBy: 'digest' });
    }
    if (!subjects.size) return { rescored: [], count: 0 };

    const [scored, previous] = await Promise.all([this.score([...subjects.values()], now, reads), this.assets.risks([...subjects.keys()])]);
    const changed = new Map<string, Scored>();
    const crossing: string[] = [];
    for (const [fp, s] of scored) {
      const before = previous.get(fp);
      const after = riskRecord(s, now);
      if (before && before.score === after.score && before.environment === after.environment && before.exposure === after.exposure) continue;
      changed.set(fp, s);
      const view = (r?: RiskRecord) => ({ risk: { score: r?.score ?? 0 }, environment: r?.environment, exposure: r?.exposure });
      if (this.matchers.some((m) => matchesRecord(m, view(before)) !== matchesRecord(m, view(after)))) crossing.push(fp);
    }
    // Only now the full findings: those rescored or relinked, as stored before this rescore.
    const stored = await this.findings.getMany([...new Set([...changed.keys(), ...[...linked].filter((fp) => scored.has(fp))])]);
    const records = new Map([...changed].map(([fp, s]) => [fp, riskRecord(s, now)]));
    const derived = new Map<string, DerivedFields>();
    const rescored: Rerouted[] = [];
    const crosses = new Set(crossing);
    for (const record of stored) {
      const finding = findingOf(record);
      const updated = enrich(finding, scored.get(record.fingerprint)!);
      const relinked = linkOf(finding) !== linkOf(updated);
      const r = records.get(record.fingerprint);
      if (!r && !relinked) continue;
      // Written whole: what a rescore derives never drops what a relink derived before it.
      derived.set(record.fingerprint, {
        risk: r ? { score: r.score, reasons: r.reasons } : updated.risk!,
        environment: r ? r.environment : updated.environment,
        exposure: r ? r.exposure : updated.exposure,
        code: updated.code,
        labels: updated.labels,
        artifact: updated.artifact,
      });
      if (record.state !== 'open' || (!crosses.has(record.fingerprint) && !relinked)) continue;
      const paths = (f: Finding) =>
        matchRoutes(this.config.routes, f)
          .map((m) => m.path)
          .sort()
          .join('\n');
      if (paths(finding) !== paths(updated)) rescored.push({ change: 'rescored', finding: updated });
      else if (relinked) rescored.push({ change: 'updated', finding: updated });
    }
    // The finding store too, so lists, the risk filter and a finding's view agree with its context.
    await Promise.all([this.assets.saveRisk(records), this.findings.setDerived(derived)]);
    return { rescored, count: subjects.size };
  }
}

/** A rerouted finding: `rescored` when its routes changed, `updated` when only what it belongs to did. */
export interface Rerouted {
  change: 'rescored' | 'updated';
  finding: Finding;
}

/** Open findings of relinked digests looked at per input: a digest has a few hundred at most. */
const LINKED_MAX = 10_000;

/** What routing reads of a finding: the routes it matches and what it belongs to (triage re-routes an open finding when it changes). */
export function routingSignature(routes: RouteConfig): (f: Finding) => string {
  return (f) =>
    `${matchRoutes(routes, f)
      .map((r) => r.path)
      .sort()
      .join(',')}|${linkOf(f)}`;
}

/**
 * What a finding belongs to, as destinations address it: the repo, commit and pull request, the image
 * digest. Parts a finding lacks at the end are left out (`[]` for one that belongs to nothing: it is
 * kept in every finding's hash); upsert-findings.lua reads signatures stored with them as equal.
 */
function linkOf(f: Finding): string {
  const link = [f.code?.repo, f.code?.commit, f.code?.pullRequest, f.labels.pr, f.artifact?.digest];
  while (link.length && link[link.length - 1] == null) link.pop();
  return JSON.stringify(link);
}

/** A stored vulnerability fact as scoring reads it. */
export function vulnerabilitySubject(v: VulnerabilityFact): RiskSubject {
  return {
    kind: 'vulnerability',
    severity: v.severity,
    fixable: v.fixable,
    rule: { id: v.id, cvss: v.cvss, exploited: v.exploited, epss: v.epss },
    package: { name: v.package, fixed: v.fixed },
  };
}

function vulnerabilityFact(f: Finding): VulnerabilityFact {
  return {
    fingerprint: f.fingerprint,
    id: f.rule.id,
    severity: f.severity,
    cvss: f.rule.cvss,
    exploited: f.rule.exploited,
    epss: f.rule.epss,
    fixable: f.fixable,
    package: f.package!.name,
    installed: f.package!.installed,
    fixed: f.package!.fixed,
  };
}

function riskRecord(s: Scored, now: Date): RiskRecord {
  const w = s.risk.workload;
  return {
    score: s.risk.score,
    reasons: s.risk.reasons,
    at: now.toISOString(),
    environment: w?.environment,
    exposure: w ? (w.exposedVia.length ? 'internet' : 'internal') : undefined,
    // The finding's own digest is in its record; who built the image is in the image's facts.
    digest: s.linkedBy === 'digest' ? undefined : s.context.image?.digest,
    linkedBy: s.linkedBy,
    workloads: s.context.workloads.map((c) => ({ id: c.id, environment: c.environment, exposedVia: c.exposedVia, owners: c.owners })),
  };
}

/**
 * The code a finding belongs to: what its input said, with what the image's build adds where the input
 * was silent (a scan that named the commit learns its pull request once the CI run is known).
 */
function codeOf(code: Finding['code'], build: BuildInfo | undefined): Finding['code'] {
  if (!build?.repo) return code;
  const pullRequest = build.pullRequests[0];
  if (!code) return plain({ repo: build.repo, commit: build.commit, branch: build.branch, pullRequest });
  if (code.repo && code.repo !== build.repo) return code;
  if (code.commit && build.commit && code.commit !== build.commit) return code;
  return plain({
    ...code,
    repo: code.repo ?? build.repo,
    commit: code.commit ?? build.commit,
    branch: code.branch ?? build.branch,
    pullRequest: code.pullRequest ?? pullRequest,
  });
}

/**
 * A deep copy of plain data as a JSON round trip leaves it (undefined fields dropped, undefined in an
 * array as null), without writing and parsing the text: it runs for every finding of a batch.
 */
function plain<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : plain(v))) as T;
  if (typeof value === 'number') return (Number.isFinite(value) ? value : null) as T;
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return JSON.parse(JSON.stringify(value)) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') out[key] = plain(v);
  }
  return out as T;
}

/**
 * The finding with what correlation knows: risk and its reasons, environment and exposure of the
 * worst workload, owners as labels, the build that shipped the image (as `code` when the input had
 * none), and for runtime findings the image's fixable vulnerabilities — what an incident must carry.
 */
function enrich(finding: Finding, s: Scored): Finding {
  const { risk, context } = s;
  const w = risk.workload;
  const build = context.image?.build;
  // Object.assign, not a spread: keys added to a spread copy take V8's slow path, for every finding.
  const labels: Finding['labels'] = Object.assign({}, finding.labels);
  for (const [k, v] of Object.entries(w?.owners ?? {})) labels[k] ??= v;
  if (build?.repo) labels.repo ??= build.repo;
  if (build?.commit) labels.commit ??= build.commit;
  if (build?.pullRequests.length) labels.pr = build.pullRequests.map((p) => `#${p}`).join(', ');
  const fixes = context.vulnerabilities
    .filter((v) => v.fixable && HIGH_OR_CRITICAL.has(v.severity))
    .sort((a, b) => (a.severity === b.severity ? a.id.localeCompare(b.id) : a.severity === 'critical' ? -1 : 1))
    .slice(0, 10)
    .map((v) => ({ id: v.id, package: v.package, installed: v.installed, fixed: v.fixed, severity: v.severity }));
  const correlation = {
    image: context.image ? { digest: context.image.digest, repository: context.image.repository, tags: context.image.tags } : undefined,
    linkedBy: s.linkedBy,
    build,
    workload: w ? { id: w.id, environment: w.environment, exposedVia: w.exposedVia, privileges: w.privileges, owners: w.owners } : undefined,
    runningIn: context.workloads.map((c) => c.id),
    vulnerablePackages: finding.kind === 'runtime' ? fixes : undefined,
  };
  const code = codeOf(finding.code, build);
  const artifact =
    finding.kind === 'runtime' && context.image && !finding.artifact?.digest
      ? Object.assign({}, finding.artifact, { repository: finding.artifact?.repository ?? context.image.repository, digest: context.image.digest })
      : finding.artifact;
  return Object.assign({}, finding, {
    artifact,
    code,
    labels,
    environment: w?.environment ?? finding.environment,
    exposure: w ? (w.exposedVia.length ? 'internet' : 'internal') : finding.exposure,
    risk: { score: risk.score, reasons: risk.reasons },
    raw: Object.assign({}, finding.raw, { correlation: plain(correlation) }),
  });
}
