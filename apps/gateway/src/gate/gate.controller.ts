import { Controller, Headers, HttpCode, HttpStatus, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Finding } from '@klaxon/findings';
import { ruleTable, type SuggestionRule } from '@klaxon/feedback';
import { GitHubDestination } from '@klaxon/destinations';
import { Runtime } from '@klaxon/platform';
import { IgnoredInput, ParseError, formats, parseInput } from '@klaxon/sources';
import { ExceptionStore, FindingRepository, SuggestionRepository, findingOf } from '@klaxon/triage';
import { ApiError } from '../http/api-error';
import { reportContextOf, uploadParam, type UploadContext } from '../http/report-context';
import { renderGateCheck } from './gate-check';
import { evaluateGate, type AdoptedSuggestion, type GateResult } from './gate-policy';

/** What became of the check run on the commit: only there when one was asked for. */
export type CheckOutcome = { published: true; destination: string; id: number } | { published: false; destination: string; error: string };

/** Findings a known digest may have: a gate by digest judges what Klaxon knows of the image now. */
const DIGEST_LIMIT = 10_000;

/**
 * `POST /v1/gate`: a CI asks "may this build go on?". The body is a report (Trivy, Grype, SARIF; the
 * format in `?format=` or detected), parsed but not stored; or no body and `?digest=` of an image
 * Klaxon already knows. Context (repo, branch, pr, commit, image) comes as for `/v1/reports`. The
 * answer is always 200 with `{pass, reasons, findings}`: failing is an answer, not an error.
 *
 * With repo and commit in the context and a GitHub destination with `checkRuns: true` (the first one
 * declared, when there are several), the verdict also becomes the "Klaxon gate" check run on that
 * commit. Publishing is a side effect: its failure is reported in `check` and never changes `pass`.
 */
@Controller('v1/gate')
export class GateController {
  private readonly rules: Map<string, SuggestionRule>;
  private readonly checks?: { name: string; github: GitHubDestination };

  constructor(
    private readonly runtime: Runtime,
    private readonly findings: FindingRepository,
    private readonly exceptions: ExceptionStore,
    private readonly suggestions: SuggestionRepository,
  ) {
    for (const [name, dest] of Object.entries(runtime.config.destinations)) {
      if (dest.type === 'github' && dest.checkRuns) {
        this.checks = { name, github: new GitHubDestination(dest) };
        break;
      }
    }
    this.rules = new Map(ruleTable(runtime.config.feedback).map((r) => [r.id, r]));
  }

  @Post()
  @HttpCode(200)
  async gate(
    @Req() request: FastifyRequest,
    @Query() query: Record<string, string>,
    @Headers() headers: Record<string, string>,
  ): Promise<GateResult & { context: Record<string, unknown>; source: string; check?: CheckOutcome }> {
    const context = reportContextOf(query, headers);
    const format = uploadParam(query, headers, 'format');
    if (format && !formats().includes(format)) throw ApiError.badRequest('format', `unknown format "${format}"; one of ${formats().join(', ')}`);
    const now = this.runtime.clock();
    const raw = typeof request.body === 'string' ? request.body : '';
    let findings: Finding[];
    let source: string;
    if (raw.trim() !== '') {
      ({ findings, source } = this.parseReport(raw, format, context, now));
    } else if (context.digest) {
      findings = await this.known(context.digest);
      source = `stored findings of ${context.digest}`;
    } else {
      throw ApiError.badRequest('body', 'send a report as the body, or ?digest= of an image Klaxon knows');
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

  private parseReport(raw: string, format: string | undefined, context: UploadContext, now: Date): { findings: Finding[]; source: string } {
    try {
      const parsed = parseInput(raw, format, { eventId: `gate-${now.getTime()}`, receivedAt: now.toISOString(), integration: 'gate', context });
      return { findings: parsed.batch.findings, source: `${parsed.format} report` };
    } catch (err) {
      if (err instanceof IgnoredInput) return { findings: [], source: `report with nothing to judge (${err.reason})` };
      if (!(err instanceof ParseError)) throw err;
      // Not quarantined: the gate stores nothing, and the CI that sent it sees the error now.
      throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, { error: 'parse_error', message: err.message, field: err.path });
    }
  }

  private async known(digest: string): Promise<Finding[]> {
    const { fingerprints } = await this.findings.query({ digest: [digest], state: ['open', 'suppressed'] }, 0, DIGEST_LIMIT);
    if (!fingerprints.length) throw ApiError.notFound(`findings of image ${digest}`);
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
