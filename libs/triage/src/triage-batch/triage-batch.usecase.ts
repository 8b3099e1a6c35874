import { withState, type Batch, type Finding, type Scope, type WorkloadAsset } from '@klaxon/findings';
import { coveringException } from '../exceptions/exception';
import type { ExceptionStore } from '../exceptions/exception.store';
import { findingOf, type FindingRepository, type RunningSlot, type UpsertChange } from '../finding.repository';
import type { ReportTimeRepository } from './report-time.repository';

/**
 * A change routing acts on: `unsuppressed` routes as new, `suppressed` tells routing to stop counting it
 * open, `updated`: still open, but what routing reads of it changed (another report of it reaches other
 * routes, or names the pull request now).
 */
export type TriageChange = 'new' | 'regressed' | 'resolved' | 'suppressed' | 'unsuppressed' | 'updated';

export interface TriageResult {
  /** What changed, with each finding as it now stands (state set). Unchanged ones are only counted. */
  changes: { change: TriageChange; finding: Finding }[];
  /** `olderReport`: findings of a report older than the newest applied to its scope (no lifecycle change). */
  counts: Record<UpsertChange | 'resolved', number> & { olderReport?: number };
}

/**
 * Persists a batch by fingerprint and applies its complete-report scopes: findings of a scope that the
 * batch no longer has resolve (per image repository: only when no current digest still has them),
 * findings that come back reopen. Findings an exception covers are stored as suppressed. Two tools
 * reporting the same problem meet in one fingerprint; duplicates inside one batch count once.
 */
export class TriageBatch {
  constructor(
    private readonly findings: FindingRepository,
    private readonly exceptions: ExceptionStore,
    private readonly reportTimes?: ReportTimeRepository,
    /** What routing reads of a finding (routes, pull request); unset: reports again are not re-routed. */
    private readonly signature?: (finding: Finding) => string,
  ) {}

  async execute(batch: Batch, now: Date, cause: string): Promise<TriageResult> {
    const all = [...new Map(batch.findings.map((f) => [f.fingerprint, f])).values()];
    // A report older than the newest applied to its scope changes no lifecycle: what it says that is
    // known stays as it is; what it says that is not known is recorded as resolved (the newer report lacks it).
    const older = (await this.reportTimes?.older(batch.scopes)) ?? new Set<string>();
    const olderKinds = new Set(batch.scopes.filter((s) => older.has(s.key)).flatMap((s) => s.kinds));
    const late = all.filter((f) => olderKinds.has(f.kind));
    const known = new Set((await this.findings.getMany(late.map((f) => f.fingerprint))).map((r) => r.fingerprint));
    const recorded = new Set(late.filter((f) => !known.has(f.fingerprint)).map((f) => f.fingerprint));
    const unique = all.filter((f) => !olderKinds.has(f.kind) || recorded.has(f.fingerprint));
    const exceptions = await this.exceptions.list();
    const upserted = await this.findings.upsert(
      unique.map((finding) => ({ finding, exception: coveringException(exceptions, finding, now)?.id, signature: this.signature?.(finding) })),
      now,
      cause,
    );
    await this.findings.resolveRecorded([...recorded], now, `recorded from ${cause}, a report older than the newest applied`);

    const resolvedByRunning = await this.findings.recordRunning(runningImages(batch), now, cause);
    const resolvedByScope = await Promise.all(
      batch.scopes
        .filter((scope) => !older.has(scope.key))
        .map((scope) =>
          this.findings.resolveScope(
            scope,
            unique.filter((f) => scope.kinds.includes(f.kind)).map((f) => f.fingerprint),
            now,
            cause,
            imageOf(scope, batch),
          ),
        ),
    );
    const resolved = await this.findings.getMany([...new Set([...resolvedByRunning, ...resolvedByScope.flat()])]);

    const changes: TriageResult['changes'] = [];
    const counts = {
      new: 0,
      regressed: 0,
      unchanged: 0,
      updated: 0,
      suppressed: 0,
      unsuppressed: 0,
      resolved: resolved.length,
      ...(older.size && { olderReport: late.length }),
    };
    unique.forEach((finding, i) => {
      const change = upserted[i];
      if (recorded.has(finding.fingerprint)) return;
      counts[change]++;
      if (change === 'unchanged') return;
      // The copy's JSON is the stored one's with its state: routing carries it without serializing it again.
      changes.push({ change, finding: withState(finding, change === 'suppressed' ? 'suppressed' : 'open') });
    });
    for (const record of resolved) changes.push({ change: 'resolved', finding: findingOf(record) });
    return { changes, counts };
  }
}

/**
 * The image repository and digest an `image:<digest>` scope (or a tool's own `image:<digest>/<tool>`)
 * is about, from the batch's assets or findings.
 */
function imageOf(scope: Scope, batch: Batch): { repository: string; digest: string } | undefined {
  if (!scope.key.startsWith('image:')) return undefined;
  const digest = scope.key.slice('image:'.length).split('/')[0];
  const asset = batch.assets.find((a) => a.type === 'image' && a.digest === digest && a.repository);
  const repository =
    (asset?.type === 'image' ? asset.repository : undefined) ??
    batch.findings.find((f) => f.artifact?.digest === digest && f.artifact.repository)?.artifact?.repository;
  return repository ? { repository, digest } : undefined;
}

/** What the cluster runs, from workload assets: one slot per container; a deleted workload frees its slots. */
function runningImages(batch: Batch): RunningSlot[] {
  return batch.assets
    .filter((a): a is WorkloadAsset => a.type === 'workload')
    .flatMap((w) =>
      w.containers
        .filter((c) => c.digest || w.deleted)
        .map((c) => ({
          repository: imageRepository(c.image),
          slot: [w.cluster ?? '', w.namespace, w.kind, w.name, c.name].join('/'),
          digest: w.deleted ? undefined : c.digest,
        })),
    );
}

/**
 * `harbor.example.com/shop/checkout:1.4.2@sha256:…` → `shop/checkout`: as in Docker's reference grammar,
 * the first segment is a registry host only when it has '.' or ':' or is 'localhost' (the same rule the
 * parsers use, so the repository matches the findings' `artifact.repository`).
 */
export function imageRepository(ref: string): string {
  const name = ref.split('@')[0];
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const path = first.includes('.') || first.includes(':') || first === 'localhost' ? name.slice(slash + 1) : name;
  const colon = path.lastIndexOf(':');
  return colon === -1 ? path : path.slice(0, colon);
}
