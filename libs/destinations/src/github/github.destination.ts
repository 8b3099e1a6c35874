import { createHash } from 'node:crypto';
import type * as AuthApp from '@octokit/auth-app';
import type * as PluginRetry from '@octokit/plugin-retry';
import type * as PluginThrottling from '@octokit/plugin-throttling';
import type * as OctokitRest from '@octokit/rest';
import type { Notification } from '@klaxon/routing';
import type { GitHubDestinationConfig } from './config';
import { DestinationRejected, DestinationUnavailable, RateLimited, type DeliveryLedger, type Destination } from '../destination';
import { DEFAULT_RETRY_AFTER_MS, REQUEST_TIMEOUT_MS, retryAfterMs } from '../http-failure';
import {
  CHECK_ANNOTATIONS_MAX,
  CHECK_NAME,
  CHECK_SUMMARY_MAX,
  PULL_REQUEST_MARKER,
  pullRequestsOf,
  renderCheckRun,
  spliceComment,
  targetId,
  type CheckRunOutput,
  type PullRequestTarget,
} from './render';
import { openCount } from '../finding-facts';
import { clientLibrary } from '../client-library';

/** Octokit with throttling and retries, and the app auth strategy: loaded with the first GitHub destination (client-library.ts). */
const octokit = clientLibrary(() => {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, as said above */
  const { Octokit } = require('@octokit/rest') as typeof OctokitRest;
  const { throttling } = require('@octokit/plugin-throttling') as typeof PluginThrottling;
  const { retry } = require('@octokit/plugin-retry') as typeof PluginRetry;
  const { createAppAuth } = require('@octokit/auth-app') as typeof AuthApp;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { ThrottledOctokit: Octokit.plugin(throttling, retry), createAppAuth };
});
type Client = InstanceType<ReturnType<typeof octokit>['ThrottledOctokit']>;
type RepoRef = Pick<PullRequestTarget, 'owner' | 'repo'>;

/** The check run the CI gate's verdict is published as, apart from the findings' own "Klaxon" check. */
export const GATE_CHECK_NAME = 'Klaxon gate';

/** A verdict to show on a commit as one named check run (created, or updated when it exists). */
export interface CheckPublication {
  /** owner/name */
  repo: string;
  /** The full 40-hex commit SHA: GitHub refuses a check run on an abbreviated one. */
  sha: string;
  conclusion: 'success' | 'failure' | 'neutral';
  title: string;
  /** Markdown, cut to GitHub's 65,535 characters. */
  summary: string;
  /** The first 50 are sent (GitHub's limit per request). */
  annotations?: CheckRunOutput['output']['annotations'];
  /** Defaults to "Klaxon gate". */
  name?: string;
}

/** A limit whose wait is this short is waited out in the client once; longer ones go back to the queue. */
const IN_PROCESS_WAIT_MAX_S = 3;

/**
 * One sticky comment per pull request, found by a hidden marker and edited in place, with a section per
 * notification key (the fixable vulnerabilities of the image, the runtime hardening proposal, …); optionally a check run on the head commit with annotations for code findings.
 *
 * Retries and rate limits are layered: plugin-throttling paces writes (one per second per token, as
 * GitHub asks) and waits out a short primary or secondary limit once; longer ones become RateLimited,
 * which delays the destination's whole deliver.<name> queue. plugin-retry retries a 5xx once in the client, then the
 * queue's exponential backoff takes over. 401, 404 and 422 are final: dead letters.
 */
export class GitHubDestination implements Destination {
  readonly type = 'github';
  readonly showsLatestState = true;
  private readonly clients = new Map<string, Promise<Client>>();
  private readonly throttleId: string;

  constructor(private readonly config: GitHubDestinationConfig) {
    // Pacing is shared by everything that uses the same credentials, not by every destination object.
    this.throttleId = createHash('sha256')
      .update(`${config.baseUrl}\0${config.token ?? config.appId}`)
      .digest('hex')
      .slice(0, 16);
  }

  async send(n: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    const extra: Record<string, string> = { ...previous?.extra };
    const prs = pullRequestsOf(n);
    for (const { target, changes } of prs) {
      const client = await this.clientFor(target);
      const id = targetId(target);
      extra[`comment:${id}`] = String(await this.upsertComment(client, target, (body) => spliceComment(body, n, target, changes)));
      if (this.config.checkRuns && target.headSha) {
        const key = `check:${target.owner}/${target.repo}@${target.headSha}`;
        extra[key] = String(await this.upsertCheckRun(client, target, target.headSha, renderCheckRun(changes), extra[key]));
      }
    }
    const comments = Object.entries(extra).filter(([k]) => k.startsWith('comment:'));
    const open = openCount(n) + n.changes.open.length > 0;
    return {
      ref: comments.map(([k, v]) => `${k.slice('comment:'.length)}:${v}`).join(',') || previous?.ref || '',
      lastNotificationId: n.id,
      status: open ? 'open' : 'resolved',
      sentAt: n.createdAt,
      extra,
    };
  }

  /**
   * Publishes a verdict as one check run per commit and name: a re-run (after an exception, a fix in
   * config) updates the run GitHub already shows instead of adding a second one. Same client, auth and
   * pacing as deliveries; errors are the typed ones of `send` (RateLimited, DestinationRejected, …).
   */
  async publishCheck(check: CheckPublication): Promise<{ id: number }> {
    const [owner, repo] = check.repo.split('/') as [string, string];
    const client = await this.clientFor({ owner, repo });
    const run = {
      conclusion: check.conclusion,
      output: {
        title: check.title,
        summary: check.summary.slice(0, CHECK_SUMMARY_MAX),
        annotations: (check.annotations ?? []).slice(0, CHECK_ANNOTATIONS_MAX),
      },
    };
    return { id: await this.upsertCheckRun(client, { owner, repo }, check.sha, run, undefined, check.name ?? GATE_CHECK_NAME) };
  }

  /**
   * One comment per pull request, whatever groups reach it: found by its marker, this group's section
   * put in, edited in place; created when there is none yet. Deliveries to GitHub run one at a time
   * per notifier (concurrency 1), so two groups never edit the comment at once from one process.
   */
  private async upsertComment(client: Client, t: PullRequestTarget, render: (body: string | undefined) => string): Promise<number> {
    const repo = { owner: t.owner, repo: t.repo };
    const existing = await this.call(() =>
      client.paginate(client.rest.issues.listComments, { ...repo, issue_number: t.number, per_page: 100 }, (response, done) => {
        const hit = response.data.find((c) => c.body?.includes(PULL_REQUEST_MARKER));
        if (hit) done();
        return hit ? [hit] : [];
      }),
    );
    const found = existing?.[0];
    if (found) {
      await this.call(() => client.rest.issues.updateComment({ ...repo, comment_id: found.id, body: render(found.body) }));
      return found.id;
    }
    const created = await this.call(() => client.rest.issues.createComment({ ...repo, issue_number: t.number, body: render(undefined) }));
    return created!.data.id;
  }

  /** One check run per head commit and name, found by name when the ledger does not know it. */
  private async upsertCheckRun(
    client: Client,
    t: RepoRef,
    sha: string,
    run: { conclusion: CheckPublication['conclusion']; output: CheckRunOutput['output'] },
    knownId?: string,
    name = CHECK_NAME,
  ): Promise<number> {
    const repo = { owner: t.owner, repo: t.repo };
    let id = knownId ? Number(knownId) : undefined;
    if (!id) {
      const listed = await this.call(() => client.rest.checks.listForRef({ ...repo, ref: sha, check_name: name, filter: 'all', per_page: 1 }));
      id = listed?.data.check_runs[0]?.id;
    }
    const fields = { status: 'completed' as const, conclusion: run.conclusion, completed_at: new Date().toISOString(), output: run.output };
    if (id) {
      const updated = await this.call(() => client.rest.checks.update({ ...repo, check_run_id: id!, ...fields }), { missingOk: true });
      if (updated) return updated.data.id;
    }
    const created = await this.call(() => client.rest.checks.create({ ...repo, name, head_sha: sha, ...fields }));
    return created!.data.id;
  }

  private clientFor(t: RepoRef): Promise<Client> {
    if (this.config.token) return this.cached('token', () => Promise.resolve(this.client({ auth: this.config.token })));
    const { appId, privateKey, installationId } = this.config;
    const { createAppAuth } = octokit();
    if (installationId)
      return this.cached(`installation:${installationId}`, async () =>
        this.client({ authStrategy: createAppAuth, auth: { appId, privateKey, installationId } }),
      );
    // No installation configured: the app's installation on this repository (GET /repos/{o}/{r}/installation, as the app).
    return this.cached(`repo:${t.owner}/${t.repo}`, async () => {
      const app = this.client({ authStrategy: createAppAuth, auth: { appId, privateKey } });
      const installation = await this.call(() => app.rest.apps.getRepoInstallation({ owner: t.owner, repo: t.repo }));
      return this.client({ authStrategy: createAppAuth, auth: { appId, privateKey, installationId: installation!.data.id } });
    });
  }

  private cached(key: string, make: () => Promise<Client>): Promise<Client> {
    let client = this.clients.get(key);
    if (!client) {
      client = make();
      this.clients.set(key, client);
      // A failed lookup is not remembered: the next attempt asks again.
      client.catch(() => this.clients.delete(key));
    }
    return client;
  }

  private client(auth: Record<string, unknown>): Client {
    const waitOnce = (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => retryCount < 1 && retryAfter <= IN_PROCESS_WAIT_MAX_S;
    return new (octokit().ThrottledOctokit)({
      ...auth,
      baseUrl: this.config.baseUrl.replace(/\/+$/, ''),
      userAgent: 'klaxon',
      // Octokit logs request failures at warn/error: the notifier logs the typed error once.
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      throttle: { id: this.throttleId, onRateLimit: waitOnce, onSecondaryRateLimit: waitOnce },
      // 429 and 403 belong to the throttling plugin; plugin-retry only retries what may be transient.
      retry: { retries: 1, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      request: { fetch: (url: string, init: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) },
    });
  }

  /** Runs one API call; with `missingOk`, a 404 answers undefined (an object someone deleted). */
  private async call<T>(request: () => Promise<T>, { missingOk = false } = {}): Promise<T | undefined> {
    try {
      return await request();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (missingOk && status === 404) return undefined;
      throw toDeliveryError(err);
    }
  }
}

/** Octokit's RequestError (status, response headers, GitHub's message) → what the notifier decides on. */
export function toDeliveryError(err: unknown): unknown {
  const e = err as { name?: string; status?: number; message?: string; response?: { headers?: Record<string, string | undefined> } };
  if (!(err instanceof Error) || e.name !== 'HttpError' || typeof e.status !== 'number') return err;
  const headers = e.response?.headers ?? {};
  // Octokit appends the documentation URL to GitHub's message: the message alone is the reason.
  const message = `github: HTTP ${e.status} ${(e.message ?? '').split(' - https://')[0]}`.trim();
  if (e.status === 429 || (e.status === 403 && (/rate limit/i.test(e.message ?? '') || headers['x-ratelimit-remaining'] === '0'))) {
    const reset = Number(headers['x-ratelimit-reset']);
    const wait = headers['retry-after']
      ? retryAfterMs(headers['retry-after'])
      : Number.isFinite(reset) && reset > 0
        ? Math.max(reset * 1000 - Date.now(), 0) + 1000
        : DEFAULT_RETRY_AFTER_MS;
    return new RateLimited(wait, message);
  }
  // @octokit/request reports a network failure (refused, reset, aborted by the timeout) as status 500.
  if (e.status >= 500 || e.status === 408) return new DestinationUnavailable(message, e.status);
  return new DestinationRejected(message, e.status);
}
