import type { Batch, Finding } from '@klaxon/findings';
import type { FindingRecord, FindingRepository } from '../finding.repository';

export interface TriageResult {
  /** What changed, with each finding as it now stands (state set). Unchanged ones are only counted. */
  changes: { change: 'new' | 'regressed' | 'resolved'; finding: Finding }[];
  counts: { new: number; regressed: number; resolved: number; unchanged: number };
}

/**
 * Persists a batch by fingerprint and applies its complete-report scopes: findings of a scope that the
 * batch no longer has resolve, findings that come back reopen. Two tools reporting the same problem
 * meet in one fingerprint; duplicates inside one batch count once.
 */
export class TriageBatch {
  constructor(private readonly findings: FindingRepository) {}

  async execute(batch: Batch, now: Date, cause: string): Promise<TriageResult> {
    const unique = [...new Map(batch.findings.map((f) => [f.fingerprint, f])).values()];
    const upserted = await this.findings.upsert(unique, now, cause);

    const resolvedFps = (
      await Promise.all(
        batch.scopes.map((scope) =>
          this.findings.resolveScope(
            scope,
            unique.filter((f) => scope.kinds.includes(f.kind)).map((f) => f.fingerprint),
            now,
            cause,
          ),
        ),
      )
    ).flat();
    const resolved = await this.findings.getMany([...new Set(resolvedFps)]);

    const changes: TriageResult['changes'] = [];
    const counts = { new: 0, regressed: 0, resolved: resolved.length, unchanged: 0 };
    unique.forEach((finding, i) => {
      const change = upserted[i];
      counts[change]++;
      if (change !== 'unchanged') changes.push({ change, finding: { ...finding, state: 'open' } });
    });
    for (const record of resolved) changes.push({ change: 'resolved', finding: toFinding(record) });
    return { changes, counts };
  }
}

/** The Finding part of a record (what routing and destinations read). */
function toFinding(record: FindingRecord): Finding {
  const { firstSeen: _f, lastSeen: _l, occurrences: _o, sources: _s, digests: _d, history: _h, ...finding } = record;
  return finding as Finding;
}
