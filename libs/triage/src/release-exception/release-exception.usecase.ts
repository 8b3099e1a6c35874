import type { Finding } from '@klaxon/findings';
import { coveringException } from '../exceptions/exception';
import type { ExceptionStore } from '../exceptions/exception.store';
import { findingOf, type FindingRepository } from '../finding.repository';

/**
 * An exception ended (it expired, or was deleted): each finding it suppressed moves to the exception
 * that covers it now, or reopens and is returned, to be routed as if new. An exception whose expiry
 * was extended since the timer was armed still holds, and its findings stay suppressed.
 */
export class ReleaseException {
  constructor(
    private readonly findings: FindingRepository,
    private readonly exceptions: ExceptionStore,
  ) {}

  async execute(exceptionId: string, reason: 'expired' | 'deleted', now: Date): Promise<{ change: 'unsuppressed'; finding: Finding }[]> {
    const records = await this.findings.getMany(await this.findings.suppressedBy(exceptionId));
    if (!records.length) return [];
    const exceptions = await this.exceptions.list();
    const coveredNow = new Map(records.map((r) => [r.fingerprint, coveringException(exceptions, findingOf(r), now)?.id]));
    const reopened = new Set(await this.findings.release(exceptionId, coveredNow, now, `exception ${exceptionId} ${reason}`));
    return records
      .filter((r) => reopened.has(r.fingerprint))
      .map((r) => ({ change: 'unsuppressed' as const, finding: { ...findingOf(r), state: 'open' as const } }));
  }
}
