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

  /**
   * `ending` names this end (the job's): a retried job answers with the findings the first attempt
   * reopened, though they are no longer suppressed, so routing still hears of them.
   */
  async execute(
    exceptionId: string,
    reason: 'expired' | 'deleted',
    now: Date,
    ending = `${reason}@${now.toISOString()}`,
  ): Promise<{ change: 'unsuppressed'; finding: Finding }[]> {
    const records = await this.findings.getMany(await this.findings.suppressedBy(exceptionId));
    const exceptions = records.length ? await this.exceptions.list() : [];
    const coveredNow = new Map(records.map((r) => [r.fingerprint, coveringException(exceptions, findingOf(r), now)?.id]));
    const reopened = await this.findings.release(exceptionId, coveredNow, now, `exception ${exceptionId} ${reason}`, ending);
    if (!reopened.length) return [];
    const byFingerprint = new Map(records.map((r) => [r.fingerprint, r]));
    for (const r of await this.findings.getMany(reopened.filter((fp) => !byFingerprint.has(fp)))) byFingerprint.set(r.fingerprint, r);
    return reopened.flatMap((fp) => {
      const r = byFingerprint.get(fp);
      return r ? [{ change: 'unsuppressed' as const, finding: { ...findingOf(r), state: 'open' as const } }] : [];
    });
  }
}
