import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Jira REST double for what jira-client sends (v2, and v3 where it differs only in text fields):
 * basic auth (401 otherwise), `POST /rest/api/{2,3}/issue` with field validation answering 400
 * `{errorMessages, errors}` as Jira does, `GET|POST /rest/api/{2,3}/search` with the JQL subset
 * Klaxon writes (`project = "X" AND labels = "a"`, `labels in ("a", "b")`, `ORDER BY`), transitions
 * offered from the current status only, comments, and 429 with Retry-After. As Jira Cloud
 * (`start({ cloud: true })`), `/search` answers 410 Gone and `POST /search/jql` searches, as Cloud
 * does since CHANGE-2046; as Data Center (the default), `/search/jql` does not exist (404).
 * https://developer.atlassian.com/cloud/jira/platform/rest/v2/
 */

export interface JiraComment {
  id: string;
  body: unknown;
  created: string;
}

export interface JiraIssue {
  id: string;
  key: string;
  fields: Record<string, unknown> & { summary: string; labels: string[]; description?: unknown; priority?: { name: string } };
  status: string;
  comments: JiraComment[];
  /** Transition names taken, in order. */
  history: string[];
}

export type JiraFault = { status: 429; retryAfter?: number } | { status: 500 | 502 | 503 | 504 };

const STATUSES: Record<string, { category: 'new' | 'indeterminate' | 'done' }> = {
  'To Do': { category: 'new' },
  'In Progress': { category: 'indeterminate' },
  Done: { category: 'done' },
};

/** The default Jira Software workflow, with a Reopen transition back from Done. */
const TRANSITIONS: Array<{ id: string; name: string; from: string[]; to: string }> = [
  { id: '11', name: 'To Do', from: ['In Progress'], to: 'To Do' },
  { id: '21', name: 'In Progress', from: ['To Do'], to: 'In Progress' },
  { id: '31', name: 'Done', from: ['To Do', 'In Progress'], to: 'Done' },
  { id: '41', name: 'Reopen', from: ['Done'], to: 'To Do' },
];

const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
const ISSUE_TYPES = ['Bug', 'Task', 'Story', 'Vulnerability'];

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

class JiraError extends Error {
  constructor(
    readonly status: number,
    readonly errorMessages: string[] = [],
    readonly errors: Record<string, string> = {},
  ) {
    super(errorMessages.join('; '));
  }
}

export class JiraEmulator {
  readonly issues: JiraIssue[] = [];
  readonly calls: Array<{ method: string; path: string; status: number }> = [];
  readonly username = 'klaxon@example.com';
  readonly password = 'jira-api-token';
  readonly projects = ['SEC'];
  private faults: Array<{ fault: JiraFault; path?: RegExp }> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly cloud: boolean,
  ) {}

  static async start(options: { cloud?: boolean } = {}): Promise<JiraEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const emulator = new JiraEmulator(server, (server.address() as AddressInfo).port, options.cloud ?? false);
    server.on('request', (req, res) => void emulator.handle(req, res));
    return emulator;
  }

  get host(): string {
    return '127.0.0.1';
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `n` requests (whose path matches, else any) fail with `fault`. */
  failNext(n: number, fault: JiraFault, path?: RegExp): void {
    for (let i = 0; i < n; i++) this.faults.push({ fault, path });
  }

  reset(): void {
    this.issues.length = 0;
    this.calls.length = 0;
    this.faults = [];
  }

  issue(key: string): JiraIssue | undefined {
    return this.issues.find((i) => i.key === key);
  }

  withLabel(label: string): JiraIssue[] {
    return this.issues.filter((i) => i.fields.labels.includes(label));
  }

  /** Creates an issue as a person would, outside Klaxon (for lost-ledger tests). */
  seed(fields: Partial<JiraIssue['fields']> & { summary: string }, status = 'To Do'): JiraIssue {
    const issue = this.newIssue({ labels: [], ...fields }, status);
    return issue;
  }

  private newIssue(fields: JiraIssue['fields'], status: string): JiraIssue {
    const n = this.issues.length + 1;
    const issue: JiraIssue = { id: String(10_000 + n), key: `SEC-${n}`, fields, status, comments: [], history: [] };
    this.issues.push(issue);
    return issue;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    let reply: Reply;
    try {
      const raw = await readBody(req);
      reply = this.serve(method, url, req, raw);
    } catch (err) {
      reply =
        err instanceof JiraError
          ? { status: err.status, body: { errorMessages: err.errorMessages, errors: err.errors } }
          : { status: 500, body: { errorMessages: ['Internal server error'], errors: {} } };
    }
    this.calls.push({ method, path: url.pathname, status: reply.status });
    res.writeHead(reply.status, { 'content-type': 'application/json;charset=UTF-8', ...reply.headers });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }

  private serve(method: string, url: URL, req: IncomingMessage, raw: string): Reply {
    const index = this.faults.findIndex((f) => !f.path || f.path.test(url.pathname));
    if (index >= 0) return faultReply(this.faults.splice(index, 1)[0]!.fault);
    this.authenticate(req);
    const route = /^\/rest\/api\/(2|3)(\/.*)$/.exec(url.pathname);
    if (!route) throw new JiraError(404, ['Not found']);
    const version = route[1] as '2' | '3';
    const path = route[2]!;
    const body = raw ? parseJson(raw) : undefined;
    let m: RegExpExecArray | null;
    if (path === '/issue' && method === 'POST') return this.create(version, body);
    if (path === '/search/jql' && method === 'POST' && this.cloud) {
      const { total: _total, startAt: _startAt, ...page } = this.search((body ?? {}) as Record<string, unknown>).body as Record<string, unknown>;
      return { status: 200, body: { ...page, isLast: true } };
    }
    if (path === '/search' && this.cloud) {
      throw new JiraError(410, [
        'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046',
      ]);
    }
    if (path === '/search' && (method === 'GET' || method === 'POST')) {
      const params = method === 'GET' ? Object.fromEntries(url.searchParams) : ((body ?? {}) as Record<string, unknown>);
      return this.search(params);
    }
    if ((m = /^\/issue\/([^/]+)$/.exec(path)) && method === 'GET') return { status: 200, body: this.view(this.require(m[1]!)) };
    if ((m = /^\/issue\/([^/]+)\/transitions$/.exec(path))) {
      const issue = this.require(m[1]!);
      if (method === 'GET') return { status: 200, body: { expand: 'transitions', transitions: this.available(issue).map(transitionView) } };
      if (method === 'POST') return this.transition(version, issue, body);
    }
    if ((m = /^\/issue\/([^/]+)\/comment$/.exec(path))) {
      const issue = this.require(m[1]!);
      if (method === 'GET') return { status: 200, body: { startAt: 0, maxResults: 5000, total: issue.comments.length, comments: issue.comments } };
      if (method === 'POST') return { status: 201, body: this.addComment(version, issue, (body as { body?: unknown })?.body) };
    }
    throw new JiraError(404, ['Not found']);
  }

  private authenticate(req: IncomingMessage) {
    const header = req.headers.authorization ?? '';
    const [user, pass] = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8').split(/:(.*)/s) : [];
    if (user !== this.username || pass !== this.password) {
      throw new JiraError(401, ['You are not authenticated. Authentication required to perform this operation.']);
    }
  }

  private create(version: '2' | '3', body: unknown): Reply {
    const fields = (body as { fields?: Record<string, unknown> })?.fields;
    if (!fields) throw new JiraError(400, ['Field "fields" is required']);
    const errors: Record<string, string> = {};
    const project = (fields.project as { key?: string })?.key;
    if (!project || !this.projects.includes(project)) errors.project = 'valid project is required';
    const type = (fields.issuetype as { name?: string })?.name;
    if (!type || !ISSUE_TYPES.includes(type)) errors.issuetype = 'valid issue type is required';
    const summary = fields.summary;
    if (typeof summary !== 'string' || !summary.trim()) errors.summary = 'You must specify a summary of the issue.';
    else if (summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    else if (/[\r\n]/.test(summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    const priority = (fields.priority as { name?: string } | undefined)?.name;
    if (fields.priority !== undefined && (!priority || !PRIORITIES.includes(priority))) errors.priority = `Priority name '${priority}' is not valid`;
    const labels = fields.labels ?? [];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) errors.labels = 'labels must be an array of strings';
    else {
      const bad = labels.find((l: string) => /\s/.test(l) || l.length > 255);
      if (bad !== undefined) errors.labels = `The label '${bad}' contains spaces which is invalid.`;
    }
    const description = checkText(version, fields.description);
    if (description) errors.description = description;
    for (const key of Object.keys(fields)) {
      if (!['project', 'issuetype', 'summary', 'description', 'priority', 'labels', 'assignee', 'components'].includes(key) && !/^customfield_\d+$/.test(key)) {
        errors[key] = `Field '${key}' cannot be set. It is not on the appropriate screen, or unknown.`;
      }
    }
    if (Object.keys(errors).length) throw new JiraError(400, [], errors);
    const issue = this.newIssue({ ...fields, summary: summary as string, labels: labels as string[] }, 'To Do');
    return { status: 201, body: { id: issue.id, key: issue.key, self: `http://127.0.0.1:${this.port}/rest/api/${version}/issue/${issue.id}` } };
  }

  private search(params: Record<string, unknown>): Reply & { body: Record<string, unknown> } {
    const jql = String(params.jql ?? '');
    const filter = parseJql(jql);
    const startAt = Number(params.startAt ?? 0);
    const maxResults = Math.min(Number(params.maxResults ?? 50), 100);
    const matching = this.issues.filter(filter);
    return {
      status: 200,
      body: {
        expand: 'names,schema',
        startAt,
        maxResults,
        total: matching.length,
        issues: matching.slice(startAt, startAt + maxResults).map((i) => this.view(i)),
      },
    };
  }

  private view(issue: JiraIssue) {
    return {
      id: issue.id,
      key: issue.key,
      fields: {
        ...issue.fields,
        status: { name: issue.status, statusCategory: { key: STATUSES[issue.status]!.category } },
        comment: { total: issue.comments.length },
      },
    };
  }

  private available(issue: JiraIssue) {
    return TRANSITIONS.filter((t) => t.from.includes(issue.status));
  }

  private transition(version: '2' | '3', issue: JiraIssue, body: unknown): Reply {
    const b = body as { transition?: { id?: string }; update?: { comment?: Array<{ add?: { body?: unknown } }> } };
    const t = this.available(issue).find((x) => x.id === b?.transition?.id);
    if (!t) throw new JiraError(400, [`Transition id '${b?.transition?.id}' is not valid for this issue.`]);
    for (const c of b.update?.comment ?? []) {
      const problem = checkText(version, c.add?.body, true);
      if (problem) throw new JiraError(400, [], { comment: problem });
    }
    issue.status = t.to;
    issue.history.push(t.name);
    for (const c of b.update?.comment ?? []) this.addComment(version, issue, c.add?.body);
    return { status: 204 };
  }

  private addComment(version: '2' | '3', issue: JiraIssue, body: unknown): JiraComment {
    const problem = checkText(version, body, true);
    if (problem) throw new JiraError(400, [], { comment: problem });
    const comment = { id: String(20_000 + issue.comments.length + this.issues.length * 100), body, created: new Date().toISOString() };
    issue.comments.push(comment);
    return comment;
  }

  private require(idOrKey: string): JiraIssue {
    const issue = this.issues.find((i) => i.key === idOrKey || i.id === idOrKey);
    if (!issue) throw new JiraError(404, ['Issue does not exist or you do not have permission to see it.']);
    return issue;
  }
}

/** v2 text fields are wiki strings; v3 takes Atlassian Document Format only. */
function checkText(version: '2' | '3', value: unknown, required = false): string | undefined {
  if (value === undefined) return required ? 'Comment body can not be empty!' : undefined;
  if (version === '2') return typeof value === 'string' ? (value.length > 32_767 ? 'text is too long' : undefined) : 'Operation value must be a string';
  const doc = value as { type?: string; version?: number; content?: unknown };
  return doc && doc.type === 'doc' && doc.version === 1 && Array.isArray(doc.content)
    ? undefined
    : 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
}

/**
 * The JQL subset: clauses joined by AND, each `field = value`, `field in (v, …)` over project, labels,
 * key and status, then an optional ORDER BY (ignored: issues stay in creation order). Anything else
 * is a 400 as Jira answers a query it cannot parse.
 */
export function parseJql(jql: string): (issue: JiraIssue) => boolean {
  const [where] = jql.split(/\s+ORDER\s+BY\s+/i);
  const clauses = (where ?? '').trim() ? where!.split(/\s+AND\s+/i) : [];
  const tests = clauses.map((clause) => {
    const m = /^\s*(\w+)\s*(=|in)\s*(.+?)\s*$/i.exec(clause);
    if (!m) throw new JiraError(400, [`Error in the JQL Query: Expecting operator but got '${clause.trim()}'.`]);
    const field = m[1]!.toLowerCase();
    const values = m[2]!.toLowerCase() === 'in' ? listValues(m[3]!) : [unquote(m[3]!)];
    const get: ((i: JiraIssue) => string[]) | undefined = {
      project: (i: JiraIssue) => [(i.fields.project as { key?: string })?.key ?? ''],
      labels: (i: JiraIssue) => i.fields.labels,
      key: (i: JiraIssue) => [i.key],
      status: (i: JiraIssue) => [i.status],
    }[field];
    if (!get) throw new JiraError(400, [`Field '${m[1]}' does not exist or you do not have permission to view it.`]);
    return (i: JiraIssue) => get(i).some((v) => values.includes(v));
  });
  return (issue) => tests.every((t) => t(issue));
}

function listValues(text: string): string[] {
  const m = /^\((.*)\)$/.exec(text.trim());
  if (!m) throw new JiraError(400, [`Error in the JQL Query: Expecting '(' but got '${text}'.`]);
  return m[1]!.split(',').map(unquote);
}

function unquote(text: string): string {
  const t = text.trim();
  if (/^".*"$/.test(t)) return t.slice(1, -1).replace(/\\"/g, '"');
  if (/^[\w.-]+$/.test(t)) return t;
  throw new JiraError(400, [`Error in the JQL Query: The character '${t[0]}' is a reserved JQL character.`]);
}

function transitionView(t: { id: string; name: string; to: string }) {
  return { id: t.id, name: t.name, to: { name: t.to, statusCategory: { key: STATUSES[t.to]!.category } }, hasScreen: false };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new JiraError(400, ['Unexpected character in JSON body']);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function faultReply(fault: JiraFault): Reply {
  if (fault.status === 429) {
    return {
      status: 429,
      body: { errorMessages: ['Rate limit exceeded.'], errors: {} },
      headers: fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
    };
  }
  return { status: fault.status, body: { errorMessages: ['Service unavailable'], errors: {} } };
}
