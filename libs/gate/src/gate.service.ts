import { Inject, Injectable } from '@nestjs/common';
import type { Finding } from '@klaxon/findings';
import { ruleTable, type SuggestionRule } from '@klaxon/feedback';
import { DESTINATIONS, GitHubDestination, type Destination } from '@klaxon/destinations';
import { Runtime } from '@klaxon/platform';
import { IgnoredInput, parseInput, type ReportContext } from '@klaxon/sources';
import { ExceptionStore, FindingRepository, SuggestionRepository, findingOf } from '@klaxon/triage';
import { renderGateCheck } from './gate-check';
import { evaluateGate, type AdoptedSuggestion, type GateResult } from './gate-policy';

/** What became of the check run on the commit: only there when one was asked for. */
export type CheckOutcome = { published: true; destination: string; id: number } | { published: false; destination: string; error: string };

/** The answer of `POST /v1/gate`, as the server sends it and the CLI reads it. */
export type GateAnswer = GateResult & { context: ReportContext; source: string; check?: CheckOutcome };

/** What the CI asks about: a report it sends (`raw`), or else an image Klaxon knows by `context.digest`. */
export interface GateQuestion {
  raw?: string;
  format?: string;
  context: ReportContext;
  now: Date;
}

/** The image named by digest has no open or suppressed finding stored: nothing to judge it by. */
export class UnknownImage extends Error {
  readonly code = 'not_found';
  constructor(readonly digest: string) {
    super(`findings of image ${digest} not found`);
    this.name = 'UnknownImage';
  }
}

/** Findings a known digest may have: a gate by digest judges what Klaxon knows of the image now. */
const DIGEST_LIMIT = 10_000;

/**
 * The CI gate: "may this build go on?". A report is parsed but not stored (a broken one throws the
 * parsers' ParseError); a digest alone is judged by the findings stored for it. Failing is an answer,
 * not an error.
 *
 * With repo and commit in the context and a GitHub destination with `checkRuns: true` (the first one
 * declared, when there are several), the verdict also becomes the "Klaxon gate" check run on that
 * commit. Publishing is a side effect: its failure is reported in `check` and never changes `pass`.
 */
@Injectable()
export class GateService {
  private readonly rules: Map<string, SuggestionRule>;
  private readonly checks?: { name: string; github: GitHubDestination };

  constructor(
    private readonly runtime: Runtime,
    private readonly findings: FindingRepository,
    private readonly exceptions: ExceptionStore,
    private readonly suggestions: SuggestionRepository,
    @Inject(DESTINATIONS) destinations: ReadonlyMap<string, Destination>,
  ) {
    this.checks = [...destinations].flatMap(([name, destination]) => {
      const config = runtime.config.destinations[name];
      return destination instanceof GitHubDestination && config.type === 'github' && config.checkRuns ? [{ name, github: destination }] : [];
    })[0];
    this.rules = new Map(ruleTable(runtime.config.feedback).map((r) => [r.id, r]));
  }

  async judge({ raw, format, context, now }: GateQuestion): Promise<GateAnswer> {
    let findings: Finding[];
    let source: string;
    if (raw !== undefined && raw.trim() !== '') {
      ({ findings, source } = this.parseReport(raw, format, context, now));
    } else if (context.digest) {
      findings = await this.known(context.digest);
      source = `stored findings of ${context.digest}`;
    } else {
      throw new Error('a gate question needs a report or a digest');
    }
    const [exceptions, adopted] = await Promise.all([this.exceptions.list(), this.adopted(context.repo)]);
    const result = evaluateGate(findings, this.runtime.config.gate, exceptions, adopted, now);
    this.runtime.logger.info({ repo: context.repo, pr: context.pr, pass: result.pass, ...result.summary }, 'gate decided');
    const check = context.repo && context.commit ? await this.publishCheck(context.repo, context.commit, result, findings) : undefined;
    return { ...result, context, source, ...(check && { check }) };
  }

  private async publishCheck(repo: string, sha: string, result: GateResult, findings: Finding[]): Promise<CheckOutcome | undefined> {
    if (!this.checks) return undefined;
    const { name, github } = this.checks;
    try {
      const { id } = await github.publishCheck({ repo, sha, ...renderGateCheck(result, findings) });
      return { published: true, destination: name, id };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.runtime.logger.warn({ repo, commit: sha, destination: name, err: error }, 'gate check run not published');
      return { published: false, destination: name, error };
    }
  }

  /** Throws the parsers' ParseError: not quarantined, the gate stores nothing and the CI sees the error now. */
  private parseReport(raw: string, format: string | undefined, context: ReportContext, now: Date): { findings: Finding[]; source: string } {
    try {
      const parsed = parseInput(raw, format, {
        eventId: `gate-${now.getTime()}`,
        receivedAt: now.toISOString(),
        integration: 'gate',
        context,
        cluster: this.runtime.config.sources.kubernetes?.clusterName,
      });
      return { findings: parsed.batch.findings, source: `${parsed.format} report` };
    } catch (err) {
      if (err instanceof IgnoredInput) return { findings: [], source: `report with nothing to judge (${err.reason})` };
      throw err;
    }
  }

  private async known(digest: string): Promise<Finding[]> {
    const { fingerprints } = await this.findings.query({ digest: [digest], state: ['open', 'suppressed'] }, 0, DIGEST_LIMIT);
    if (!fingerprints.length) throw new UnknownImage(digest);
    return (await this.findings.getMany(fingerprints)).map(findingOf);
  }

  private async adopted(repo: string | undefined): Promise<AdoptedSuggestion[]> {
    if (!this.runtime.config.gate.failOnAdoptedSuggestions) return [];
    return (await this.suggestions.adopted(repo)).flatMap((s) => {
      const rule = this.rules.get(s.rule);
      return rule?.checks.length ? [{ id: s.id, rule: rule.id, title: rule.title, checks: rule.checks }] : [];
    });
  }
}
