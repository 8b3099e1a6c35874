import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { toFinding, type Finding, type Severity } from '@klaxon/findings';
import { githubDestinationSchema, type GitHubDestinationConfig } from './config';
import type { Notification, NotificationChanges } from '@klaxon/routing';
import { APP_ID, GitHubEmulator, INSTALLATION_ID } from '../../../../test/emulators/github.emulator';
import { DestinationRejected, DestinationUnavailable, RateLimited } from '../destination';
import { GitHubDestination } from './github.destination';
import { commentMarker, commentSections, GITHUB_COMMENT_MAX, PULL_REQUEST_MARKER } from './render';

const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

function vulnerability(id: string, severity: Severity, fixed?: string, over: Partial<Finding> = {}): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'build',
    source: { tool: 'trivy', integration: 'report' },
    title: `openssl: flaw ${id}`,
    severity,
    rule: { id, references: [`https://nvd.nist.gov/vuln/detail/${id}`] },
    artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2' },
    package: { name: 'openssl', installed: '3.0.11-1', fixed },
    code: { repo: 'acme/checkout', commit: COMMIT, pullRequest: 42 },
    fixable: fixed !== undefined,
    observedAt: '2024-11-23T10:00:00Z',
    ...over,
  });
}

function sqlInjection(): Finding {
  return toFinding({
    kind: 'code',
    stage: 'build',
    source: { tool: 'semgrep', integration: 'report' },
    title: 'User input flows into a SQL query',
    severity: 'high',
    rule: { id: 'python.sqlalchemy.security.sqlalchemy-execute-raw-query' },
    code: { repo: 'acme/checkout', commit: COMMIT, pullRequest: 42, path: 'app/orders.py', line: 57 },
    fixable: false,
    remediation: 'Use bound parameters.',
    observedAt: '2024-11-23T10:00:00Z',
  });
}

let seq = 0;
function notification(changes: Partial<NotificationChanges>): Notification {
  seq++;
  return {
    id: `n-${seq}`,
    key: 'pull-requests/gh/acme/checkout',
    route: 'pull-requests',
    destination: 'gh',
    groupLabels: { 'code.repo': 'acme/checkout' },
    createdAt: `2024-11-23T10:${String(seq % 60).padStart(2, '0')}:00.000Z`,
    changes: { new: [], regressed: [], resolved: [], open: [], ...changes },
  };
}

let gh: GitHubEmulator;
let config: GitHubDestinationConfig;

const appConfig = (over: Partial<GitHubDestinationConfig> = {}): GitHubDestinationConfig => ({
  ...githubDestinationSchema.innerType().parse({ type: 'github', appId: APP_ID, privateKey: gh.appPrivateKey, baseUrl: gh.url }),
  ...over,
});

beforeAll(async () => {
  gh = await GitHubEmulator.start();
  config = githubDestinationSchema.innerType().parse({ type: 'github', token: gh.token, baseUrl: gh.url });
});
afterAll(async () => {
  await gh.stop();
});
beforeEach(() => gh.reset());

describe('GitHubDestination', () => {
  const fixable = vulnerability('CVE-2024-2511', 'critical', '3.0.13-1');
  const unfixable = vulnerability('CVE-2024-9999', 'high');
  const old = vulnerability('CVE-2023-0001', 'medium', '3.0.12-1');

  it('posts one sticky comment: new fixable first with the fix version, then unfixable, then resolved', async () => {
    const ledger = await new GitHubDestination(config).send(
      notification({ new: [fixable, unfixable], open: [old], resolved: [vulnerability('CVE-2022-1', 'low', '1')] }),
      undefined,
    );

    const [comment, ...more] = gh.commentsOn('acme/checkout', 42);
    expect(more).toEqual([]);
    const body = comment!.body;
    expect(body.startsWith(PULL_REQUEST_MARKER)).toBe(true);
    expect(body).toContain(commentMarker('pull-requests/gh/acme/checkout').replace('klaxon:', 'klaxon-section:'));
    expect(body).toContain('### 🛡️ Klaxon: 3 open findings at 4e1f0c2');
    const order = [
      '<b>Fixable (2)',
      'CVE-2024-2511',
      'CVE-2023-0001',
      '<b>No fix available yet (1)',
      'CVE-2024-9999',
      '<b>Resolved since last push (1)',
      'CVE-2022-1',
    ].map((s) => body.indexOf(s));
    expect(order.every((at, i) => at > (order[i - 1] ?? -1))).toBe(true);
    expect(body).toContain(
      '| 🆕 | critical | [CVE-2024-2511](https://nvd.nist.gov/vuln/detail/CVE-2024-2511) openssl: flaw CVE-2024-2511 | openssl | `3.0.11-1` | `3.0.13-1` |',
    );
    expect(ledger).toMatchObject({ ref: `acme/checkout#42:${comment!.id}`, status: 'open' });
  });

  it('edits the same comment on every later notification and on resolution', async () => {
    const destination = new GitHubDestination(config);
    const first = await destination.send(notification({ new: [fixable] }), undefined);
    const second = await destination.send(notification({ new: [unfixable], open: [fixable] }), first);

    const resolved = await destination.send(notification({ resolved: [fixable, unfixable] }), second);

    const comments = gh.commentsOn('acme/checkout', 42);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.edits).toBe(2);
    expect(comments[0]!.body).toContain('### ✅ Klaxon: no open findings');
    expect(comments[0]!.body).toContain('Resolved since last push (2)');
    expect(resolved.status).toBe('resolved');
    // The comment is read before each edit: other groups' sections in it are kept.
    expect(gh.calls.filter((c) => c.method === 'GET').map((c) => c.path)).toEqual(Array(3).fill('/repos/acme/checkout/issues/42/comments'));
  });

  it('keeps one comment per pull request: each group its own section, in the same order whichever group sent first', async () => {
    const at = '2024-11-23T11:00:00.000Z';
    const vulns = { ...notification({ new: [fixable] }), createdAt: at };
    const other = { ...notification({ new: [unfixable] }), key: 'suggestions/gh/acme/checkout', id: 'n-other', createdAt: at };
    const bodies: string[] = [];
    for (const order of [
      [vulns, other],
      [other, vulns],
    ]) {
      gh.reset();
      const destination = new GitHubDestination(config);
      for (const n of order) await destination.send(n, undefined);
      const comments = gh.commentsOn('acme/checkout', 42);
      expect(comments).toHaveLength(1);
      expect(commentSections(comments[0]!.body).size).toBe(2);
      bodies.push(comments[0]!.body);
    }
    expect(bodies[1]).toBe(bodies[0]);
    expect(bodies[0]).toContain('CVE-2024-2511');
    expect(bodies[0]).toContain('CVE-2024-9999');
  });

  it('finds its comment by marker through pages of other comments when the ledger is lost', async () => {
    const destination = new GitHubDestination(config);
    for (let i = 0; i < 130; i++) gh.seedComment('acme/checkout', 42, `LGTM ${i}`);
    await destination.send(notification({ new: [fixable] }), undefined);
    for (let i = 0; i < 90; i++) gh.seedComment('acme/checkout', 42, `nit ${i}`);

    await destination.send(notification({ new: [fixable], regressed: [unfixable] }), undefined);

    const mine = gh.commentsOn('acme/checkout', 42).filter((c) => c.user.type === 'Bot');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain('🔁');
    expect(gh.calls.filter((c) => c.method === 'GET').length).toBeGreaterThanOrEqual(3);
  });

  it('never exceeds GitHub’s comment size, saying how many rows it left out', async () => {
    const findings = Array.from({ length: 5000 }, (_, i) => vulnerability(`CVE-2024-${i}`, 'high', i % 2 ? '9.9' : undefined, { title: 'x'.repeat(200) }));

    await new GitHubDestination(config).send(notification({ new: findings }), undefined);

    const body = gh.commentsOn('acme/checkout', 42)[0]!.body;
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_MAX);
    expect(body).toMatch(/_\+\d+ more_/);
  });

  it('cannot mention anyone or inject HTML from tool text', async () => {
    const evil = vulnerability('CVE-2024-1', 'high', '1', { title: 'cc @acme/security-team <img src=x onerror=alert(1)> | [x](javascript:alert(1))' });

    await new GitHubDestination(config).send(notification({ new: [evil] }), undefined);

    const body = gh.commentsOn('acme/checkout', 42)[0]!.body;
    expect(body).not.toContain('@acme/security-team');
    expect(body).not.toContain('<img');
    expect(body).toContain('@&#8203;acme/security-team &lt;img src=x onerror=alert(1)&gt; \\| \\[x\\](javascript:alert(1))');
  });

  it('keeps one check run per head commit with annotations for code findings', async () => {
    const destination = new GitHubDestination({ ...appConfig(), checkRuns: true });
    const first = await destination.send(notification({ new: [sqlInjection(), fixable] }), undefined);
    await destination.send(notification({ resolved: [sqlInjection(), fixable] }), first);

    expect(gh.checkRuns).toHaveLength(1);
    const [run] = gh.checkRuns;
    expect(run).toMatchObject({ name: 'Klaxon', head_sha: COMMIT, status: 'completed', conclusion: 'success', updates: 1 });
    expect(run!.annotations[0]).toEqual({
      path: 'app/orders.py',
      start_line: 57,
      end_line: 57,
      annotation_level: 'failure',
      title: 'python.sqlalchemy.security.sqlalchemy-execute-raw-query (high)',
      message: 'User input flows into a SQL query\n\nUse bound parameters.',
    });
  });

  it('sends nothing for findings that name no pull request', async () => {
    const ledger = await new GitHubDestination(config).send(notification({ new: [vulnerability('CVE-1', 'high', '1', { code: undefined })] }), undefined);

    expect(gh.calls).toEqual([]);
    expect(ledger.ref).toBe('');
  });

  it('authenticates as a GitHub App installation', async () => {
    await new GitHubDestination(appConfig()).send(notification({ new: [fixable] }), undefined);

    expect(gh.commentsOn('acme/checkout', 42)).toHaveLength(1);
    expect(gh.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'GET /repos/acme/checkout/installation 200',
      'POST /app/installations/4242/access_tokens 201',
      'GET /repos/acme/checkout/issues/42/comments 200',
      'POST /repos/acme/checkout/issues/42/comments 201',
    ]);
  });

  it('asks for a new installation token once the hour of the last one is over', async () => {
    const destination = new GitHubDestination(appConfig({ installationId: String(INSTALLATION_ID), checkRuns: true }));
    const first = await destination.send(notification({ new: [fixable] }), undefined);
    // Only the clock moves: @octokit/auth-app keeps a token for 59 of its 60 minutes.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61 * 60_000 });
    try {
      await destination.send(notification({ resolved: [fixable] }), first);
    } finally {
      vi.useRealTimers();
    }

    expect(gh.calls.filter((c) => c.path.endsWith('/access_tokens')).map((c) => c.status)).toEqual([201, 201]);
    expect(gh.calls.filter((c) => c.status >= 400)).toEqual([]);
    expect(gh.checkRuns).toMatchObject([{ conclusion: 'success', updates: 1 }]);
  });
});

describe('GitHubDestination failures', () => {
  const finding = vulnerability('CVE-2024-2511', 'critical', '3.0.13-1');

  it('rejects bad credentials and unknown repositories', async () => {
    const bad = new GitHubDestination({ ...config, token: 'ghp_revoked' }).send(notification({ new: [finding] }), undefined);
    await expect(bad).rejects.toBeInstanceOf(DestinationRejected);
    await expect(bad).rejects.toThrow('github: HTTP 401 Bad credentials');

    const elsewhere = vulnerability('CVE-1', 'high', '1', { code: { repo: 'acme/unknown', pullRequest: 1 } });
    await expect(new GitHubDestination(config).send(notification({ new: [elsewhere] }), undefined)).rejects.toThrow('github: HTTP 404 Not Found');
  });

  it('a personal token cannot write check runs: GitHub refuses it and the delivery is rejected', async () => {
    // Config validation refuses this combination; this is what GitHub would say if it got through.
    const error = await new GitHubDestination({ ...config, checkRuns: true }).send(notification({ new: [finding] }), undefined).catch((e) => e);

    expect(error).toBeInstanceOf(DestinationRejected);
    expect((error as Error).message).toBe('github: HTTP 403 You must authenticate via a GitHub App.');
    expect(gh.checkRuns).toEqual([]);
  });

  it('waits out a short secondary rate limit once, and hands a long one to the queue', async () => {
    gh.failNext(1, { kind: 'secondary', retryAfter: 1 });
    await new GitHubDestination(config).send(notification({ new: [finding] }), undefined);
    expect(gh.commentsOn('acme/checkout', 42)).toHaveLength(1);

    gh.reset();
    gh.failNext(1, { kind: 'secondary', retryAfter: 120 });
    const error = await new GitHubDestination(config).send(notification({ new: [finding] }), undefined).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimited);
    expect((error as RateLimited).retryAfterMs).toBe(120_000);
  });

  it('turns an exhausted primary limit into a delay until its reset', async () => {
    gh.failNext(2, { kind: 'primary', resetInSeconds: 600 });

    const error = await new GitHubDestination(config).send(notification({ new: [finding] }), undefined).catch((e) => e);

    expect(error).toBeInstanceOf(RateLimited);
    expect((error as RateLimited).retryAfterMs).toBeGreaterThan(590_000);
  });

  it('retries a 5xx once in the client, then reports it unavailable', async () => {
    gh.failNext(2, { kind: 'status', status: 502 });

    const error = await new GitHubDestination(config).send(notification({ new: [finding] }), undefined).catch((e) => e);

    expect(error).toBeInstanceOf(DestinationUnavailable);
    expect(gh.calls.map((c) => c.status)).toEqual([502, 502]);
  });
});
