import type JiraApi from 'jira-client';
import type { Finding, Severity } from '@klaxon/findings';
import type { Notification } from '@klaxon/routing';
import type { JiraDestinationConfig } from './config';
import { DestinationRejected, DestinationUnavailable, type DeliveryLedger, type Destination } from '../destination';
import { bodyDetail, failureFromStatus, REQUEST_TIMEOUT_MS } from '../http-failure';
import { isAllResolved } from '../finding-facts';
import { clientLibrary } from '../client-library';
import {
  changesDoc,
  comments,
  DEFAULT_PRIORITIES,
  findingLabel,
  findingTicket,
  groupLabel,
  groupTicket,
  toAdf,
  toWiki,
  type Doc,
  type TicketFields,
} from './render';

const jiraClient = clientLibrary(() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the first Jira destination (client-library.ts)
  const library = require('jira-client') as typeof JiraApi | { default: typeof JiraApi };
  return 'default' in library ? library.default : library;
});

/** Labels per JQL search: `labels in (…)` stays a short query and one round trip per 50 findings. */
const SEARCH_BATCH = 50;

interface Ticket {
  key: string;
  done: boolean;
}

type Change = 'new' | 'regressed' | 'open' | 'resolved';

/**
 * One Jira ticket per notification key: per finding (default) or per group. Every ticket carries a
 * stable `klaxon-…` label and is looked up by it (JQL) before anything is created, so neither a retried
 * job nor a lost ledger creates a second ticket. A finding seen again comments (at most once per
 * `commentEvery`), a resolution transitions to `doneTransition` with a comment, a regression to
 * `reopenTransition`. Transitions are only made when Jira offers them from the ticket's current status,
 * which makes a repeated resolution or reopening a no-op.
 */
export class JiraDestination implements Destination {
  readonly type = 'jira';
  readonly showsLatestState = false;
  private readonly client: JiraApi;
  private readonly priorities: Record<Severity, string>;
  /** Which search this Jira has, once known: Cloud only `/search/jql`, Data Center only `/search`. */
  private searchPath: '/search/jql' | '/search' | undefined;

  constructor(private readonly config: JiraDestinationConfig) {
    this.client = new (jiraClient())({
      protocol: config.protocol,
      host: config.host,
      port: config.port === undefined ? undefined : String(config.port),
      username: config.username,
      password: config.password,
      apiVersion: config.apiVersion,
      strictSSL: true,
      timeout: REQUEST_TIMEOUT_MS,
      // jira-client's own transport rejects with the body only: status and Retry-After are lost, and
      // 401, 429 and 503 look alike. This one keeps them (see `jiraRequest`).
      request: jiraRequest,
    });
    this.priorities = { ...DEFAULT_PRIORITIES, ...config.priorities } as Record<Severity, string>;
  }

  async send(n: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    return this.config.ticketPer === 'group' ? this.sendGroup(n, previous) : this.sendPerFinding(n, previous);
  }

  private async sendPerFinding(n: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    const extra: Record<string, string> = { ...previous?.extra };
    const work: Array<{ change: Change; finding: Finding }> = (['new', 'regressed', 'open', 'resolved'] as const).flatMap((change) =>
      n.changes[change].map((finding) => ({ change, finding })),
    );
    // Tickets the ledger does not know are looked up by label first: the idempotency that survives a
    // crash between create and ledger write.
    const unknown = work.filter(({ finding }) => !extra[`issue:${finding.fingerprint}`]).map(({ finding }) => findingLabel(finding));
    const found = await this.searchByLabels(unknown);

    for (const { change, finding } of work) {
      const fp = finding.fingerprint;
      const known = extra[`issue:${fp}`];
      const ticket: Ticket | undefined = known ? { key: known, done: extra[`state:${fp}`] === 'resolved' } : found.get(findingLabel(finding));
      if (change === 'resolved') {
        if (ticket) await this.transition(ticket.key, this.config.doneTransition, comments.resolved(n.createdAt));
        if (ticket) Object.assign(extra, { [`issue:${fp}`]: ticket.key, [`state:${fp}`]: 'resolved' });
        continue;
      }
      if (!ticket) {
        const key = await this.create(findingTicket(finding, this.priorities), finding);
        Object.assign(extra, { [`issue:${fp}`]: key, [`state:${fp}`]: 'open', [`commented:${fp}`]: n.createdAt });
        continue;
      }
      if (ticket.done || change === 'regressed') {
        await this.transition(ticket.key, this.config.reopenTransition, comments.regressed(n.createdAt, finding));
        Object.assign(extra, { [`commented:${fp}`]: n.createdAt });
      } else if (change === 'open' && this.commentDue(extra[`commented:${fp}`], n.createdAt)) {
        await this.comment(ticket.key, comments.seenAgain(finding, n.createdAt));
        extra[`commented:${fp}`] = n.createdAt;
      }
      Object.assign(extra, { [`issue:${fp}`]: ticket.key, [`state:${fp}`]: 'open' });
    }

    const keys = Object.entries(extra)
      .filter(([k]) => k.startsWith('issue:'))
      .map(([, v]) => v);
    const allResolved = Object.entries(extra)
      .filter(([k]) => k.startsWith('state:'))
      .every(([, v]) => v === 'resolved');
    return {
      ref: summarizeRefs(keys),
      lastNotificationId: n.id,
      status: keys.length > 0 && allResolved ? 'resolved' : 'open',
      sentAt: n.createdAt,
      extra,
    };
  }

  private async sendGroup(n: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    const label = groupLabel(n.key);
    const ticket: Ticket | undefined = previous ? { key: previous.ref, done: previous.status === 'resolved' } : (await this.searchByLabels([label])).get(label);
    const resolved = isAllResolved(n);
    const extra: Record<string, string> = { ...previous?.extra };
    const changed = n.changes.new.length + n.changes.regressed.length + n.changes.resolved.length > 0;
    let key: string;

    if (!ticket) {
      if (resolved) {
        // Nothing was ever opened for a group that only resolves: nothing to close.
        return { ref: '', lastNotificationId: n.id, status: 'resolved', sentAt: n.createdAt, extra };
      }
      key = await this.create(groupTicket(n, this.priorities), [...n.changes.new, ...n.changes.regressed, ...n.changes.open][0]);
      extra.commented = n.createdAt;
    } else {
      key = ticket.key;
      if (resolved) {
        await this.transition(key, this.config.doneTransition, [...comments.resolved(n.createdAt, 'every finding of this group'), ...changesDoc(n)]);
      } else if (ticket.done) {
        await this.transition(key, this.config.reopenTransition, [...comments.regressed(n.createdAt), ...changesDoc(n)]);
        extra.commented = n.createdAt;
      } else if (changed && previous) {
        // Without a ledger the ticket was found by label: most likely this very send created it
        // before a crash, so its changes are not commented a second time.
        await this.comment(key, changesDoc(n));
        extra.commented = n.createdAt;
      } else if (!changed && this.commentDue(extra.commented, n.createdAt)) {
        await this.comment(key, comments.stillOpen(n));
        extra.commented = n.createdAt;
      }
    }
    return { ref: key, lastNotificationId: n.id, status: resolved ? 'resolved' : 'open', sentAt: n.createdAt, extra };
  }

  private commentDue(last: string | undefined, now: string): boolean {
    return !last || Date.parse(now) - Date.parse(last) >= this.config.commentEvery;
  }

  private async searchByLabels(labels: string[]): Promise<Map<string, Ticket>> {
    const found = new Map<string, Ticket>();
    const unique = [...new Set(labels)];
    for (let i = 0; i < unique.length; i += SEARCH_BATCH) {
      const batch = unique.slice(i, i + SEARCH_BATCH);
      const jql = `project = "${this.config.project}" AND labels in (${batch.map((l) => `"${l}"`).join(', ')}) ORDER BY created ASC`;
      const result = (await this.search(jql, batch.length * 2)) as {
        issues?: Array<{ key: string; fields?: { labels?: string[]; status?: { statusCategory?: { key?: string } } } }>;
      };
      for (const issue of result.issues ?? []) {
        const done = issue.fields?.status?.statusCategory?.key === 'done';
        // The oldest ticket wins when someone cloned one by hand: ORDER BY created ASC.
        for (const label of issue.fields?.labels ?? []) if (batch.includes(label) && !found.has(label)) found.set(label, { key: issue.key, done });
      }
    }
    return found;
  }

  /**
   * Jira Cloud removed `/rest/api/{2,3}/search` (410 Gone, CHANGE-2046) for `POST …/search/jql`, which
   * Data Center does not have (404): the new one is tried first and a 404 settles on the old one.
   */
  private async search(jql: string, maxResults: number): Promise<unknown> {
    const body = { jql, maxResults, fields: ['labels', 'status'] };
    if (this.searchPath !== '/search') {
      try {
        // jira-client 8 has no method for it; its own request helpers (typed private) keep auth and transport.
        const client = this.client as unknown as JiraClientInternals;
        const found = await this.call(() => client.doRequest(client.makeRequestHeader(client.makeUri({ pathname: '/search/jql' }), { method: 'POST', body })));
        this.searchPath = '/search/jql';
        return found;
      } catch (err) {
        if (this.searchPath || !(err instanceof DestinationRejected && err.status === 404)) throw err;
        this.searchPath = '/search';
      }
    }
    return this.call(() => this.client.searchJira(jql, { maxResults, fields: body.fields }));
  }

  private async create(ticket: TicketFields, lead: Finding | undefined): Promise<string> {
    const assignee = lead ? this.config.assignees?.[lead.labels[this.config.assigneeLabel] ?? ''] : undefined;
    const fields: Record<string, unknown> = {
      ...this.config.fields,
      project: { key: this.config.project },
      issuetype: { name: this.config.issueType },
      summary: ticket.summary,
      description: this.text(ticket.description),
      priority: { name: ticket.priority },
      labels: [...new Set([...ticket.labels, ...labelsOf(this.config.fields)])],
      ...(assignee ? { assignee: { accountId: assignee } } : {}),
    };
    const created = (await this.call(() => this.client.addNewIssue({ fields }))) as { key?: string };
    if (!created?.key) throw new DestinationUnavailable('jira: issue created without a key in the answer');
    return created.key;
  }

  private async comment(key: string, doc: Doc): Promise<void> {
    await this.call(() => this.client.addCommentAdvanced(key, { body: this.text(doc) }));
  }

  /**
   * Moves the ticket with `name` (transition or target status name) and adds the comment in the same
   * request, so the two cannot be half done. When Jira does not offer it, the ticket is already there
   * (a retried job), unless it offers neither this nor the opposite transition: a misconfigured workflow.
   */
  private async transition(key: string, name: string, doc: Doc): Promise<void> {
    const { transitions = [] } = (await this.call(() => this.client.listTransitions(key))) as {
      transitions?: Array<{ id: string; name: string; to?: { name?: string } }>;
    };
    const match = (want: string) => transitions.find((t) => sameName(t.name, want) || sameName(t.to?.name, want));
    const wanted = match(name);
    if (!wanted) {
      const opposite = name === this.config.doneTransition ? this.config.reopenTransition : this.config.doneTransition;
      if (match(opposite)) return;
      throw new DestinationRejected(`jira: ${key} offers no transition "${name}" (available: ${transitions.map((t) => t.name).join(', ') || 'none'})`);
    }
    await this.call(() => this.client.transitionIssue(key, { transition: { id: wanted.id }, update: { comment: [{ add: { body: this.text(doc) } }] } }));
  }

  /** v2 takes wiki markup, v3 Atlassian Document Format. */
  private text(doc: Doc): unknown {
    return this.config.apiVersion === '3' ? toAdf(doc) : toWiki(doc);
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw toDeliveryError(err);
    }
  }
}

interface JiraClientInternals {
  makeUri(options: { pathname: string }): string;
  makeRequestHeader(uri: string, options: { method: string; body: unknown }): unknown;
  doRequest(request: unknown): Promise<unknown>;
}

function sameName(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

function labelsOf(fields: Record<string, unknown> | undefined): string[] {
  const labels = fields?.labels;
  return Array.isArray(labels) ? labels.filter((l): l is string => typeof l === 'string') : [];
}

function summarizeRefs(keys: string[]): string {
  const sorted = [...new Set(keys)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return sorted.length <= 20 ? sorted.join(',') : `${sorted.slice(0, 20).join(',')},+${sorted.length - 20} more`;
}

/** What `jiraRequest` rejects with; jira-client turns it into `new Error(JSON.stringify(failure))`. */
interface TransportFailure {
  klaxonJiraFailure: true;
  status?: number;
  retryAfter?: string | null;
  body?: unknown;
  network?: string;
}

interface JiraRequestOptions {
  uri: string;
  method?: string;
  body?: unknown;
  auth?: { user?: string; pass?: string; bearer?: string };
  timeout?: number;
}

/**
 * The transport handed to jira-client (its `request` option): JSON over fetch with basic auth, and on
 * failure an object that keeps the status and Retry-After. Credentials stay in the Authorization
 * header and never reach an error message.
 */
export async function jiraRequest(options: JiraRequestOptions): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-atlassian-token': 'no-check' };
  if (options.auth?.bearer) headers.authorization = `Bearer ${options.auth.bearer}`;
  else if (options.auth?.user !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.auth.user}:${options.auth.pass ?? ''}`).toString('base64')}`;
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(options.uri, {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: AbortSignal.timeout(options.timeout ?? REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    throw { klaxonJiraFailure: true, network: e.cause?.code ?? e.name ?? 'network error' } satisfies TransportFailure;
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (an HTML error page of a proxy): kept as text for the error detail.
  }
  if (res.status >= 400) {
    throw { klaxonJiraFailure: true, status: res.status, retryAfter: res.headers.get('retry-after'), body: parsed } satisfies TransportFailure;
  }
  return parsed;
}

/** jira-client wraps every rejection as `Error(JSON.stringify(reason))`: read the failure back. */
export function toDeliveryError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  let failure: TransportFailure | undefined;
  try {
    const parsed = JSON.parse(err.message) as Partial<TransportFailure>;
    if (parsed?.klaxonJiraFailure) failure = parsed as TransportFailure;
  } catch {
    return err;
  }
  if (!failure) return err;
  if (failure.network) return new DestinationUnavailable(`jira: ${failure.network}`);
  return failure.status === undefined
    ? new DestinationUnavailable('jira: no status')
    : failureFromStatus('jira', failure.status, jiraErrorDetail(failure.body), failure.retryAfter);
}

/** Jira's error shape: `{errorMessages: [...], errors: {field: message}}`. */
function jiraErrorDetail(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { errorMessages?: string[]; errors?: Record<string, string> };
    const parts = [...(b.errorMessages ?? []), ...Object.entries(b.errors ?? {}).map(([field, message]) => `${field}: ${message}`)];
    if (parts.length) return bodyDetail(parts.join('; '));
  }
  return bodyDetail(body);
}
