import type { Code, Finding } from '@klaxon/findings';
import {
  accumulate,
  consolidate,
  observe,
  proposalFinding,
  proposalId,
  proposalSubject,
  subjectOf,
  suggestionId,
  triggeredRules,
  triggersAny,
  type FeedbackConfig,
  type Observation,
  type SuggestionRule,
  type SuggestionSubject,
} from '@klaxon/feedback';
import { viewOf, type FeedbackOutcome, type SuggestionRepository, type SuggestionWrite } from '@klaxon/triage';

interface Pending {
  id: string;
  rule: SuggestionRule;
  subject: SuggestionSubject;
  code?: Code;
  observations: Observation[];
}

/**
 * A touched proposal (or lower-priority item) for routing: `new` when every suggestion of its subject was
 * made by this input, `updated` when it grew (routing then sends the group again, so the ticket and the
 * PR comment show the current sections and counts), `resolved` when it lost its last section to the
 * other tier (a no-op where it was never told).
 */
export interface SuggestionChange {
  change: 'new' | 'updated' | 'resolved';
  finding: Finding;
}

function sameCode(a: Code | undefined, b: Code | undefined): boolean {
  return a?.repo === b?.repo && a?.commit === b?.commit && a?.pullRequest === b?.pullRequest && a?.branch === b?.branch;
}

/** Optimistic writes retried this many times (with a jittered pause) before the job fails and BullMQ retries it. */
const MAX_ATTEMPTS = 20;
const pause = (attempt: number) => new Promise((done) => setTimeout(done, Math.random() * 5 * (attempt + 1)));

/**
 * Where the image was built: correlation puts it in `code` (from the image's build asset); the
 * correlated labels (`repo`, `pr` as `#42`) are read when only they made it.
 */
export function buildOf(f: Finding): Code | undefined {
  if (f.code?.repo) return f.code;
  const repo = f.labels.repo;
  if (!repo) return undefined;
  const pr = /^#?(\d+)/.exec(f.labels.pr ?? '')?.[1];
  return { repo, commit: f.labels.commit, pullRequest: pr ? Number(pr) : undefined };
}

/**
 * What a finding's suggestions would be about: its workload or image. Undefined when it can have none:
 * neither a runtime nor a deploy-time finding, or about neither.
 */
function suggestibleSubject(f: Finding): SuggestionSubject | undefined {
  if (f.kind !== 'runtime' && f.stage !== 'deploy') return undefined;
  const subject = subjectOf(f);
  return subject.workload || subject.image ? subject : undefined;
}

/**
 * The feedback step for one input: its runtime findings → the suggestions they trigger, deduplicated
 * per (workload or image repository, suggestion), evidence folded into what was seen before. What is
 * routed is not each suggestion but the proposal of each subject touched (libs/feedback/src/proposal.ts):
 * one finding per subject and tier, rebuilt from every suggestion of the subject.
 */
export class FeedbackSuggestions {
  /** Jobs of this process write one after another; only other processes can make a write conflict. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repository: SuggestionRepository,
    private readonly table: SuggestionRule[],
    private readonly config: FeedbackConfig,
  ) {}

  /** The suggestions each finding triggers, grouped by suggestion id. Pure. */
  collect(findings: Finding[]): Pending[] {
    const byId = new Map<string, Pending>();
    for (const f of findings) {
      const subject = suggestibleSubject(f);
      if (!subject) continue;
      for (const { rule, detection } of triggeredRules(this.table, f)) {
        const id = suggestionId(rule, subject);
        const pending = byId.get(id) ?? { id, rule, subject, observations: [] };
        pending.code ??= buildOf(f);
        pending.observations.push(observe(f, detection));
        byId.set(id, pending);
      }
    }
    return [...byId.values()];
  }

  /** The findings that trigger at least one suggestion (what `execute` reads of a batch). Pure. */
  triggering(findings: Finding[]): Finding[] {
    // What collect([f]) would keep, without building its suggestions: this runs on every triaged finding.
    return findings.filter((f) => suggestibleSubject(f) !== undefined && triggersAny(this.table, f));
  }

  async execute(eventId: string, findings: Finding[]): Promise<{ outcome: FeedbackOutcome; suggestions: Finding[]; changes: SuggestionChange[] }> {
    const pending = this.collect(findings);
    if (!pending.length) return { outcome: { touched: [] }, suggestions: [], changes: [] };
    const outcome = (await this.repository.outcomeOf(eventId)) ?? (await this.serially(() => this.record(eventId, pending)));
    return this.changesOf(outcome, eventId);
  }

  /**
   * Runtime findings whose image's build (repo, commit, pull request) was learnt after their
   * suggestions were made: those suggestions take the build, their evidence unchanged, and route as
   * `updated` so they reach the pull request. A suggestion that already names that build is left alone.
   */
  async relink(eventId: string, findings: Finding[]): Promise<{ outcome: FeedbackOutcome; suggestions: Finding[]; changes: SuggestionChange[] }> {
    const marker = `relink-${eventId}`;
    const pending = this.collect(findings).filter((p) => p.code?.repo);
    if (!pending.length) return { outcome: { touched: [] }, suggestions: [], changes: [] };
    const outcome =
      (await this.repository.outcomeOf(marker)) ??
      (await this.serially(async () => {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          if (attempt > 0) await pause(attempt);
          const stored = await this.repository.getMany(pending.map((p) => p.id));
          const writes: SuggestionWrite[] = pending.flatMap((p) => {
            const before = stored.get(p.id);
            if (!before || sameCode(before.code, p.code)) return [];
            const { version, adoptedAt: _a, ...rest } = before;
            return [{ ...rest, code: p.code, expectedVersion: version }];
          });
          const result: FeedbackOutcome = { touched: writes.map((w) => ({ id: w.id, change: 'updated' as const })) };
          const committed = await this.repository.commit(marker, writes, result);
          if (committed.status === 'ok') return result;
          if (committed.status === 'done') return committed.outcome;
        }
        throw new Error(`suggestions relinked by event ${eventId} kept changing under concurrent writers; retrying the job`);
      }));
    return this.changesOf(outcome, eventId);
  }

  /**
   * The proposals of the subjects this outcome touched, rebuilt from all their suggestions as stored now:
   * a retried job (same outcome) routes the same findings.
   */
  private async changesOf(
    outcome: FeedbackOutcome,
    eventId: string,
  ): Promise<{ outcome: FeedbackOutcome; suggestions: Finding[]; changes: SuggestionChange[] }> {
    const touched = await this.repository.getMany(outcome.touched.map((t) => t.id));
    const subjects = new Map([...touched.values()].map((s) => [proposalId('proposal', proposalSubject(s)), proposalSubject(s)]));
    // Every suggestion a subject can have is named by the rule table: no index of subjects is needed.
    const ids = [...new Set([...subjects.values()].flatMap((subject) => this.table.map((rule) => suggestionId(rule, subject))))];
    const stored = await this.repository.getMany(ids);
    const views = [...stored.values()].flatMap((s) => viewOf(s, this.table, this.config) ?? []);
    const change = new Map(outcome.touched.map((t) => [t.id, t.change]));
    const changes: SuggestionChange[] = [];
    for (const proposal of consolidate(views, this.table, this.config)) {
      const all = views.filter((v) => proposalId('proposal', proposalSubject(v)) === proposalId('proposal', proposalSubject(proposal)));
      const allNew = all.every((v) => change.get(v.id) === 'new');
      if (proposal.sections.length) changes.push({ change: allNew ? 'new' : 'updated', finding: proposalFinding(proposal, eventId) });
      // Emptied: withdraw it where it was told (its sections moved to the other tier or their rule was removed).
      else if (!allNew) changes.push({ change: 'resolved', finding: proposalFinding(proposal, eventId) });
    }
    return { outcome, suggestions: changes.map((c) => c.finding), changes };
  }

  private serially<T>(write: () => Promise<T>): Promise<T> {
    const result = this.writing.then(write, write);
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async record(eventId: string, pending: Pending[]): Promise<FeedbackOutcome> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await pause(attempt);
      const stored = await this.repository.getMany(pending.map((p) => p.id));
      const outcome: FeedbackOutcome = { touched: pending.map((p) => ({ id: p.id, change: stored.has(p.id) ? 'updated' : 'new' })) };
      const writes: SuggestionWrite[] = pending.map((p) => {
        const before = stored.get(p.id);
        return {
          id: p.id,
          rule: p.rule.id,
          workload: p.subject.workload,
          image: { ...before?.image, ...p.subject.image },
          // The newest build wins: a later image of the workload came from a later PR.
          code: p.code ?? before?.code,
          evidence: accumulate(before?.evidence, p.observations),
          expectedVersion: before?.version ?? 0,
        };
      });
      const result = await this.repository.commit(eventId, writes, outcome);
      if (result.status === 'ok') return outcome;
      if (result.status === 'done') return result.outcome;
    }
    throw new Error(`suggestions of event ${eventId} kept changing under concurrent writers; retrying the job`);
  }
}
