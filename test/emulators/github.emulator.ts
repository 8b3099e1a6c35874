import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * GitHub REST for what the GitHub destination calls, as @octokit/rest sees it: token auth
 * (`Authorization: token|Bearer`, 401 `Bad credentials`), GitHub App auth (an RS256 JWT for
 * `/repos/{o}/{r}/installation` and `/app/installations/{id}/access_tokens`, then the installation
 * token, valid for an hour), issue comments list (per_page/page with a Link header) / create / update, check runs
 * create / update / list for a ref — writes only with an installation token, a personal token gets 403
 * (https://docs.github.com/en/rest/checks/runs#create-a-check-run) —, 404 for unknown repos, 422 `Validation Failed` for a body over
 * 65,536 characters, primary (403, x-ratelimit-remaining 0) and secondary (403 + Retry-After) rate
 * limits and 429. https://docs.github.com/en/rest
 */

export interface GitHubComment {
  id: number;
  owner: string;
  repo: string;
  issue: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
  /** How many times the body was edited. */
  edits: number;
}

export interface GitHubCheckRun {
  id: number;
  owner: string;
  repo: string;
  name: string;
  head_sha: string;
  status: string;
  conclusion?: string;
  output?: { title?: string; summary?: string; annotations?: unknown[] };
  /** Every annotation sent, over all requests (GitHub accumulates them). */
  annotations: unknown[];
  updates: number;
}

export type GitHubFault =
  | { kind: 'secondary'; retryAfter?: number }
  | { kind: 'primary'; resetInSeconds: number }
  | { kind: 'status'; status: 429 | 500 | 502 | 503; retryAfter?: number };

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const DOCS = 'https://docs.github.com/rest';
export const DEFAULT_GITHUB_TOKEN = 'ghp_klaxonTestToken000000000000000000000';
export const APP_ID = '424242';
export const INSTALLATION_ID = 4242;

class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class GitHubEmulator {
  readonly comments: GitHubComment[] = [];
  readonly checkRuns: GitHubCheckRun[] = [];
  readonly calls: Array<{ method: string; path: string; status: number }> = [];
  readonly repos = new Set(['acme/checkout']);
  /** PEM of the GitHub App's private key, to configure as `privateKey`. */
  readonly appPrivateKey: string;
  private readonly appPublicKey: KeyObject;
  /** Installation token → when it expires (ms). */
  private readonly installationTokens = new Map<string, number>();
  private faults: Array<{ fault: GitHubFault; path?: RegExp }> = [];
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly token: string,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.appPrivateKey = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    this.appPublicKey = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
  }

  static async start(opts: { token?: string } = {}): Promise<GitHubEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emulator = new GitHubEmulator(server, `http://127.0.0.1:${port}`, opts.token ?? DEFAULT_GITHUB_TOKEN);
    server.on('request', (req, res) => void emulator.handle(req, res));
    return emulator;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `n` requests (whose path matches, else any) fail with `fault`. */
  failNext(n: number, fault: GitHubFault, path?: RegExp): void {
    for (let i = 0; i < n; i++) this.faults.push({ fault, path });
  }

  reset(): void {
    this.comments.length = 0;
    this.checkRuns.length = 0;
    this.calls.length = 0;
    this.faults = [];
  }

  commentsOn(repo: string, issue: number): GitHubComment[] {
    const [owner, name] = repo.split('/');
    return this.comments.filter((c) => c.owner === owner && c.repo === name && c.issue === issue);
  }

  /** A comment written by someone else (to test that the marker, not position, finds Klaxon's). */
  seedComment(repo: string, issue: number, body: string, login = 'octocat'): GitHubComment {
    const [owner, name] = repo.split('/');
    const now = new Date().toISOString();
    const comment = { id: this.nextId++, owner: owner!, repo: name!, issue, body, user: { login, type: 'User' }, created_at: now, updated_at: now, edits: 0 };
    this.comments.push(comment);
    return comment;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    let reply: Reply;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      reply = this.serve(method, url, req, raw ? (JSON.parse(raw) as Record<string, unknown>) : {});
    } catch (err) {
      reply =
        err instanceof GitHubError
          ? { status: err.status, body: { message: err.message, documentation_url: DOCS, ...err.extra }, headers: err.headers }
          : { status: 400, body: { message: 'Problems parsing JSON', documentation_url: DOCS } };
    }
    this.calls.push({ method, path: url.pathname, status: reply.status });
    res.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      ...reply.headers,
    });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }

  private serve(method: string, url: URL, req: IncomingMessage, body: Record<string, unknown>): Reply {
    const index = this.faults.findIndex((f) => !f.path || f.path.test(url.pathname));
    if (index >= 0) throw faultError(this.faults.splice(index, 1)[0]!.fault);
    const path = url.pathname;
    let m: RegExpExecArray | null;

    if ((m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path)) && method === 'POST') {
      this.requireAppJwt(req);
      if (Number(m[1]) !== INSTALLATION_ID) throw new GitHubError(404, 'Not Found');
      const token = `ghs_installation${this.installationTokens.size}${'0'.repeat(20)}`;
      const expiresAt = Date.now() + 3_600_000;
      this.installationTokens.set(token, expiresAt);
      return {
        status: 201,
        body: {
          token,
          expires_at: new Date(expiresAt).toISOString(),
          permissions: { issues: 'write', checks: 'write', pull_requests: 'write' },
          repository_selection: 'all',
        },
      };
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(path)) && method === 'GET') {
      this.requireAppJwt(req);
      this.requireRepo(m[1]!, m[2]!);
      return { status: 200, body: { id: INSTALLATION_ID, app_id: Number(APP_ID), account: { login: m[1] } } };
    }

    const auth = this.authenticate(req);
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path))) {
      const [owner, repo, issue] = [m[1]!, m[2]!, Number(m[3])];
      this.requireRepo(owner, repo);
      if (method === 'GET') return this.listComments(url, owner, repo, issue);
      if (method === 'POST') {
        const text = this.requireBody(body, 'IssueComment');
        const comment = this.seedComment(`${owner}/${repo}`, issue, text, 'klaxon[bot]');
        comment.user.type = 'Bot';
        return { status: 201, body: this.commentView(comment) };
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path)) && method === 'PATCH') {
      this.requireRepo(m[1]!, m[2]!);
      const comment = this.comments.find((c) => c.id === Number(m![3]) && c.owner === m![1] && c.repo === m![2]);
      if (!comment) throw new GitHubError(404, 'Not Found');
      comment.body = this.requireBody(body, 'IssueComment');
      comment.updated_at = new Date().toISOString();
      comment.edits++;
      return { status: 200, body: this.commentView(comment) };
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/.exec(path)) && method === 'POST') {
      this.requireRepo(m[1]!, m[2]!);
      requireApp(auth);
      if (typeof body.name !== 'string' || typeof body.head_sha !== 'string' || !/^[0-9a-f]{40}$/.test(body.head_sha)) {
        throw new GitHubError(422, 'Validation Failed', { errors: [{ resource: 'CheckRun', code: 'invalid', field: 'head_sha' }] });
      }
      const run: GitHubCheckRun = {
        id: this.nextId++,
        owner: m[1]!,
        repo: m[2]!,
        name: body.name,
        head_sha: body.head_sha,
        status: 'queued',
        annotations: [],
        updates: 0,
      };
      this.applyCheckRun(run, body);
      this.checkRuns.push(run);
      return { status: 201, body: this.checkRunView(run) };
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/.exec(path)) && method === 'PATCH') {
      this.requireRepo(m[1]!, m[2]!);
      requireApp(auth);
      const run = this.checkRuns.find((r) => r.id === Number(m![3]));
      if (!run) throw new GitHubError(404, 'Not Found');
      this.applyCheckRun(run, body);
      run.updates++;
      return { status: 200, body: this.checkRunView(run) };
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/check-runs$/.exec(path)) && method === 'GET') {
      this.requireRepo(m[1]!, m[2]!);
      const name = url.searchParams.get('check_name');
      const runs = this.checkRuns.filter((r) => r.owner === m![1] && r.repo === m![2] && r.head_sha === m![3] && (!name || r.name === name));
      return { status: 200, body: { total_count: runs.length, check_runs: runs.map((r) => this.checkRunView(r)) } };
    }
    throw new GitHubError(404, 'Not Found');
  }

  private listComments(url: URL, owner: string, repo: string, issue: number): Reply {
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30), 1), 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
    const all = this.commentsOn(`${owner}/${repo}`, issue);
    const last = Math.max(Math.ceil(all.length / perPage), 1);
    const link = (p: number, rel: string) => {
      const u = new URL(url.href);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(p));
      return `<${u.href}>; rel="${rel}"`;
    };
    const links = [
      page < last && link(page + 1, 'next'),
      page < last && link(last, 'last'),
      page > 1 && link(1, 'first'),
      page > 1 && link(page - 1, 'prev'),
    ].filter(Boolean);
    return {
      status: 200,
      body: all.slice((page - 1) * perPage, page * perPage).map((c) => this.commentView(c)),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  private applyCheckRun(run: GitHubCheckRun, body: Record<string, unknown>) {
    if (typeof body.status === 'string') run.status = body.status;
    if (typeof body.conclusion === 'string') run.conclusion = body.conclusion;
    const output = body.output as GitHubCheckRun['output'] | undefined;
    if (output) {
      if ((output.annotations?.length ?? 0) > 50)
        throw new GitHubError(422, 'Validation Failed', {
          errors: [{ resource: 'CheckRun', code: 'custom', field: 'output.annotations', message: 'no more than 50 annotations per request' }],
        });
      if ((output.summary?.length ?? 0) > 65_535)
        throw new GitHubError(422, 'Validation Failed', { errors: [{ resource: 'CheckRun', code: 'custom', field: 'output.summary' }] });
      run.output = output;
      run.annotations.push(...(output.annotations ?? []));
    }
  }

  private requireBody(body: Record<string, unknown>, resource: string): string {
    if (typeof body.body !== 'string' || !body.body) {
      throw new GitHubError(422, 'Validation Failed', { errors: [{ resource, code: 'missing_field', field: 'body' }] });
    }
    if (body.body.length > 65_536) {
      throw new GitHubError(422, 'Validation Failed', {
        errors: [{ resource, code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }],
      });
    }
    return body.body;
  }

  /** Who is calling: a personal token or an app installation (whose token expires after an hour). */
  private authenticate(req: IncomingMessage): 'personal' | 'installation' {
    const header = req.headers.authorization ?? '';
    const token = /^(?:token|bearer) (.+)$/i.exec(header)?.[1];
    if (!token) throw new GitHubError(401, 'Requires authentication');
    if (token === this.token) return 'personal';
    const expiresAt = this.installationTokens.get(token);
    if (expiresAt === undefined || expiresAt <= Date.now()) throw new GitHubError(401, 'Bad credentials');
    return 'installation';
  }

  /** An app JWT: RS256, signed by the app's key, iss = app id, not expired (at most 10 minutes long). */
  private requireAppJwt(req: IncomingMessage) {
    const jwt = /^bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [head, payload, signature] = jwt?.split('.') ?? [];
    const valid =
      head && payload && signature && verify('RSA-SHA256', Buffer.from(`${head}.${payload}`), this.appPublicKey, Buffer.from(signature, 'base64url'));
    if (!valid) throw new GitHubError(401, 'A JSON web token could not be decoded');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as { iss?: string | number; exp?: number; iat?: number };
    const now = Date.now() / 1000;
    if (String(claims.iss) !== APP_ID) throw new GitHubError(401, 'Integration not found');
    if (!claims.exp || claims.exp < now || claims.exp - (claims.iat ?? now) > 600 + 60) {
      throw new GitHubError(401, "'Expiration time' claim ('exp') is too far in the future");
    }
  }

  private requireRepo(owner: string, repo: string) {
    if (!this.repos.has(`${owner}/${repo}`)) throw new GitHubError(404, 'Not Found');
  }

  private commentView(c: GitHubComment) {
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      html_url: `https://github.com/${c.owner}/${c.repo}/pull/${c.issue}#issuecomment-${c.id}`,
      body: c.body,
      user: c.user,
      created_at: c.created_at,
      updated_at: c.updated_at,
    };
  }

  private checkRunView(r: GitHubCheckRun) {
    return {
      id: r.id,
      name: r.name,
      head_sha: r.head_sha,
      status: r.status,
      conclusion: r.conclusion ?? null,
      output: { ...r.output, annotations_count: r.annotations.length },
    };
  }
}

/** Only GitHub Apps may write check runs. */
function requireApp(auth: 'personal' | 'installation') {
  if (auth !== 'installation') throw new GitHubError(403, 'You must authenticate via a GitHub App.');
}

function faultError(fault: GitHubFault): GitHubError {
  if (fault.kind === 'secondary') {
    return new GitHubError(
      403,
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      {},
      fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
    );
  }
  if (fault.kind === 'primary') {
    return new GitHubError(
      403,
      'API rate limit exceeded for installation ID 4242.',
      {},
      {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + fault.resetInSeconds),
      },
    );
  }
  return new GitHubError(
    fault.status,
    fault.status === 429 ? 'Too Many Requests' : 'Server Error',
    {},
    fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
  );
}
