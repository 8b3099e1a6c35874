import { toFinding, type Batch, type Finding, type Severity } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { buildAsset } from '../common/build-asset';
import { validateAt } from '../common/document';
import { severityOfLevel } from '../common/sarif-level';
import { imageAt, type ImageRef } from '../common/image-ref';
import { packageFromMessage } from '../common/trivy-message';

// GitHub webhook payloads ("Webhook events and payloads" in docs.github.com): the event name comes in the
// X-GitHub-Event header, which the integration stores in the event's context as `event`.
const repositorySchema = z.object({ full_name: z.string().min(1) }).passthrough();
const pullRequestRefSchema = z.object({ number: z.number().int() }).passthrough();

const workflowRunSchema = z
  .object({
    action: z.string().optional(),
    repository: repositorySchema,
    workflow_run: z
      .object({
        id: z.number().optional(),
        name: z.string().nullish(),
        head_branch: z.string().nullish(),
        head_sha: z.string().min(1),
        html_url: z.string().optional(),
        status: z.string().nullish(),
        conclusion: z.string().nullish(),
        pull_requests: z.array(pullRequestRefSchema).nullish(),
      })
      .passthrough(),
  })
  .passthrough();

const checkSuiteSchema = z
  .object({
    action: z.string().optional(),
    repository: repositorySchema,
    check_suite: z
      .object({
        id: z.number().optional(),
        head_branch: z.string().nullish(),
        head_sha: z.string().min(1),
        url: z.string().optional(),
        status: z.string().nullish(),
        conclusion: z.string().nullish(),
        pull_requests: z.array(pullRequestRefSchema).nullish(),
      })
      .passthrough(),
  })
  .passthrough();

const pullRequestSchema = z
  .object({
    action: z.string().optional(),
    number: z.number().int(),
    repository: repositorySchema,
    pull_request: z
      .object({
        html_url: z.string().optional(),
        head: z.object({ ref: z.string(), sha: z.string().min(1) }).passthrough(),
      })
      .passthrough(),
  })
  .passthrough();

const codeScanningAlertSchema = z
  .object({
    action: z.string(),
    ref: z.string().nullish(),
    commit_oid: z.string().nullish(),
    repository: repositorySchema,
    alert: z
      .object({
        number: z.number().int(),
        html_url: z.string().optional(),
        state: z.string().nullish(),
        rule: z
          .object({
            id: z.string().min(1),
            name: z.string().nullish(),
            severity: z.string().nullish(),
            security_severity_level: z.string().nullish(),
            description: z.string().nullish(),
            full_description: z.string().nullish(),
            help: z.string().nullish(),
            tags: z.array(z.string()).nullish(),
          })
          .passthrough(),
        tool: z.object({ name: z.string(), version: z.string().nullish() }).passthrough(),
        most_recent_instance: z
          .object({
            ref: z.string().nullish(),
            commit_sha: z.string().nullish(),
            message: z.object({ text: z.string().optional() }).passthrough().nullish(),
            location: z.object({ path: z.string().optional(), start_line: z.number().int().optional() }).passthrough().nullish(),
          })
          .passthrough()
          .nullish(),
      })
      .passthrough(),
  })
  .passthrough();

type Alert = z.infer<typeof codeScanningAlertSchema>;

/** `refs/heads/main` → branch main; `refs/pull/42/merge` → pull request 42. */
function refFacts(ref: string | null | undefined): { branch?: string; pullRequest?: number } {
  if (!ref) return {};
  const pull = /^refs\/pull\/(\d+)\//.exec(ref);
  if (pull) return { pullRequest: Number(pull[1]) };
  return ref.startsWith('refs/heads/') ? { branch: ref.slice('refs/heads/'.length) } : {};
}

/** CodeQL's security-severity level when the rule is a security rule; otherwise the SARIF level it ran at. */
function alertSeverity(rule: Alert['alert']['rule']): Severity {
  const level = rule.security_severity_level?.toLowerCase();
  if (level === 'critical' || level === 'high' || level === 'medium' || level === 'low') return level;
  return severityOfLevel(rule.severity);
}

/** The alert states in which the problem is present; fixed and dismissed alerts resolve it. */
const OPEN_STATES = new Set(['open']);

/**
 * A container scanner's alert (Trivy's SARIF uploaded to code scanning) located at an image rather than a
 * file is that image's package vulnerability: it is read as one, so it joins the finding the image's own
 * scans opened (CVE + package + image repository) instead of standing beside it as code.
 */
function imageVulnerability(alert: Alert['alert']): { image: ImageRef; pkg: NonNullable<ReturnType<typeof packageFromMessage>> } | undefined {
  const path = alert.most_recent_instance?.location?.path;
  const pkg = packageFromMessage(alert.most_recent_instance?.message?.text);
  const image = path ? imageAt(path) : undefined;
  return pkg && image && (alert.rule.tags ?? []).includes('vulnerability') ? { image, pkg } : undefined;
}

function codeScanningAlert(payload: Alert, meta: SourceMeta): Batch {
  const { alert, repository } = payload;
  const repo = repository.full_name;
  const instance = alert.most_recent_instance;
  const ref = refFacts(instance?.ref ?? payload.ref);
  const vulnerability = imageVulnerability(alert);
  // The alert number identifies it in its repository: this one alert is the complete report of itself.
  const scopes = [{ key: `github-code-scanning:${repo}#${alert.number}`, kinds: [vulnerability ? ('vulnerability' as const) : ('code' as const)] }];
  if (!OPEN_STATES.has(alert.state ?? 'open')) return { findings: [], assets: [], scopes };
  const rule = alert.rule;
  const code = {
    repo,
    commit: instance?.commit_sha ?? payload.commit_oid ?? undefined,
    branch: ref.branch,
    pullRequest: ref.pullRequest,
  };
  const common = {
    stage: 'build' as const,
    source: { tool: alert.tool.name.toLowerCase(), integration: meta.integration, eventId: meta.eventId, toolVersion: alert.tool.version ?? undefined },
    title: rule.description || rule.name || rule.id,
    description: rule.full_description ?? instance?.message?.text ?? undefined,
    severity: alertSeverity(rule),
    toolSeverity: rule.security_severity_level ?? rule.severity ?? undefined,
    rule: { id: rule.id, name: rule.name ?? undefined, references: alert.html_url ? [alert.html_url] : [], tags: rule.tags ?? undefined },
    observedAt: meta.receivedAt,
    raw: { alertNumber: alert.number, action: payload.action, message: instance?.message?.text, path: instance?.location?.path },
  };
  const finding: Finding = vulnerability
    ? toFinding({
        ...common,
        kind: 'vulnerability',
        artifact: {
          registry: vulnerability.image.registry,
          repository: vulnerability.image.repository,
          tag: vulnerability.image.tag,
          digest: vulnerability.image.digest,
        },
        package: vulnerability.pkg,
        code,
        fixable: !!vulnerability.pkg.fixed,
        remediation: vulnerability.pkg.fixed ? `Upgrade ${vulnerability.pkg.name} to ${vulnerability.pkg.fixed}` : undefined,
      })
    : toFinding({
        ...common,
        kind: 'code',
        code: { ...code, path: instance?.location?.path, line: instance?.location?.start_line },
        fixable: true,
        remediation: rule.help ?? undefined,
      });
  return { findings: [finding], assets: [], scopes };
}

function parse(raw: string, meta: SourceMeta): Batch {
  const event = (meta.context as Record<string, unknown>).event;
  if (typeof event !== 'string' || !event) {
    throw new ParseError('missing; GitHub names the event in this header and Klaxon needs it to read the body', 'X-GitHub-Event');
  }
  const doc = parseJson(raw);
  switch (event) {
    case 'ping':
      throw new IgnoredInput('GitHub ping: the webhook is connected');
    case 'workflow_run': {
      const { repository, workflow_run: run } = validateAt(workflowRunSchema, doc);
      const prs = (run.pull_requests ?? []).map((p) => p.number);
      return {
        findings: [],
        assets: [buildAsset({ repo: repository.full_name, commit: run.head_sha, branch: run.head_branch, pullRequests: prs, url: run.html_url }, meta)],
        scopes: [],
      };
    }
    case 'check_suite': {
      const { repository, check_suite: suite } = validateAt(checkSuiteSchema, doc);
      const prs = (suite.pull_requests ?? []).map((p) => p.number);
      return {
        findings: [],
        assets: [buildAsset({ repo: repository.full_name, commit: suite.head_sha, branch: suite.head_branch, pullRequests: prs, url: suite.url }, meta)],
        scopes: [],
      };
    }
    case 'pull_request': {
      // The PR number belongs to the base repository, even when the head branch lives in a fork.
      const { repository, number, pull_request: pr } = validateAt(pullRequestSchema, doc);
      return {
        findings: [],
        assets: [buildAsset({ repo: repository.full_name, commit: pr.head.sha, branch: pr.head.ref, pullRequests: [number], url: pr.html_url }, meta)],
        scopes: [],
      };
    }
    case 'code_scanning_alert':
      return codeScanningAlert(validateAt(codeScanningAlertSchema, doc), meta);
    default:
      throw new IgnoredInput(`GitHub event "${event}" carries nothing Klaxon reads`);
  }
}

export const githubParser: SourceParser = {
  format: 'github',
  // Webhook bodies only: without X-GitHub-Event a payload cannot be read, so it is never guessed.
  detect: () => false,
  parse,
};
