import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toFinding, type Finding, type Severity } from '@klaxon/findings';
import { jiraDestinationSchema, type JiraDestinationConfig } from './config';
import type { Notification, NotificationChanges } from '@klaxon/routing';
import { JiraEmulator } from '../../../../test/emulators/jira.emulator';
import { DestinationRejected, DestinationUnavailable, RateLimited } from '../destination';
import { JiraDestination } from './jira.destination';
import { findingLabel, groupLabel } from './render';

const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

function vulnerability(id: string, severity: Severity = 'critical', over: Partial<Finding> = {}): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'harbor' },
    title: `openssl: flaw ${id}`,
    severity,
    rule: { id, references: [`https://nvd.nist.gov/vuln/detail/${id}`] },
    artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', digest: DIGEST },
    package: { name: 'openssl', ecosystem: 'debian', installed: '3.0.11-1', fixed: '3.0.13-1' },
    code: { repo: 'acme/checkout', pullRequest: 42 },
    fixable: true,
    observedAt: '2024-11-23T10:00:00Z',
    ...over,
  });
}

let seq = 0;
function notification(changes: Partial<NotificationChanges>, at = '2024-11-23T10:00:00.000Z'): Notification {
  seq++;
  return {
    id: `n-${seq}`,
    key: 'images/jira-sec/shop/checkout',
    route: 'images',
    destination: 'jira-sec',
    groupLabels: { 'artifact.repository': 'shop/checkout' },
    createdAt: at,
    changes: { new: [], regressed: [], resolved: [], open: [], ...changes },
  };
}

let jira: JiraEmulator;
let config: JiraDestinationConfig;
const configure = (over: Record<string, unknown> = {}) =>
  jiraDestinationSchema.parse({
    type: 'jira',
    protocol: 'http',
    host: jira.host,
    port: jira.port,
    username: jira.username,
    password: jira.password,
    project: 'SEC',
    ...over,
  });

beforeAll(async () => {
  jira = await JiraEmulator.start();
  config = configure();
});
afterAll(async () => {
  await jira.stop();
});
beforeEach(() => jira.reset());

describe('JiraDestination, one ticket per finding', () => {
  const critical = vulnerability('CVE-2024-2511');
  const high = vulnerability('CVE-2024-4741', 'high');

  it('creates one ticket per finding with its label, mapped priority, description and remediation', async () => {
    const ledger = await new JiraDestination(config).send(notification({ new: [critical, high] }), undefined);

    expect(jira.issues).toHaveLength(2);
    const [a, b] = jira.issues;
    expect(a!.fields.labels).toEqual(['klaxon', findingLabel(critical), 'klaxon-vulnerability']);
    expect(a!.fields.priority).toEqual({ name: 'Highest' });
    expect(b!.fields.priority).toEqual({ name: 'High' });
    expect(a!.fields.summary).toBe('[critical] openssl: flaw CVE-2024-2511 (shop/checkout)');
    const description = a!.fields.description as string;
    expect(description).toContain('[CVE\\-2024\\-2511|https://nvd.nist.gov/vuln/detail/CVE-2024-2511]');
    expect(description).toContain('Upgrade openssl to 3.0.13\\-1 or later.');
    expect(description).toContain('Code: [acme/checkout (PR \\#42)|https://github.com/acme/checkout/pull/42]');
    expect(ledger).toMatchObject({ ref: 'SEC-1,SEC-2', status: 'open', lastNotificationId: expect.any(String) });
    expect(ledger.extra).toMatchObject({ [`issue:${critical.fingerprint}`]: 'SEC-1', [`issue:${high.fingerprint}`]: 'SEC-2' });
  });

  it('opens a ticket for a finding whose title spans lines (Jira refuses a summary with a line break)', async () => {
    // Semgrep and CodeQL messages, read as SARIF result text, often carry line breaks.
    const multiline = vulnerability('CVE-2024-9143', 'high', { title: 'openssl: out-of-bounds access\nin GF(2^m) curve APIs' });

    await new JiraDestination(config).send(notification({ new: [multiline] }), undefined);

    expect(jira.issues.map((i) => i.fields.summary)).toEqual([
      '[high] CVE-2024-9143 in openssl: openssl: out-of-bounds access in GF(2^m) curve APIs (shop/checkout)',
    ]);
  });

  it('finds its ticket by label when the ledger is lost, and creates no second one', async () => {
    const destination = new JiraDestination(config);
    await destination.send(notification({ new: [critical] }), undefined);

    const again = await destination.send(notification({ new: [critical] }), undefined);

    expect(jira.withLabel(findingLabel(critical))).toHaveLength(1);
    expect(again.extra![`issue:${critical.fingerprint}`]).toBe('SEC-1');
    expect(jira.issue('SEC-1')!.comments).toEqual([]);
  });

  it('resolves with the done transition and a comment, and reopens on regression', async () => {
    const destination = new JiraDestination(config);
    const opened = await destination.send(notification({ new: [critical] }), undefined);

    const resolved = await destination.send(notification({ resolved: [critical] }, '2024-11-24T10:00:00.000Z'), opened);
    expect(jira.issue('SEC-1')).toMatchObject({ status: 'Done', history: ['Done'] });
    expect(jira.issue('SEC-1')!.comments[0]!.body).toContain('resolved at 2024\\-11\\-24T10:00:00.000Z');
    expect(resolved.status).toBe('resolved');

    const again = await destination.send(notification({ resolved: [critical] }), opened);
    expect(jira.issue('SEC-1')!.history).toEqual(['Done']);
    expect(again.status).toBe('resolved');

    const regressed = await destination.send(notification({ regressed: [critical] }, '2024-11-25T10:00:00.000Z'), resolved);
    expect(jira.issue('SEC-1')).toMatchObject({ status: 'To Do', history: ['Done', 'Reopen'] });
    expect(jira.issues).toHaveLength(1);
    expect(regressed.status).toBe('open');
  });

  it('comments when a finding is seen again, at most once per commentEvery', async () => {
    const destination = new JiraDestination(configure({ commentEvery: '12h' }));
    let ledger = await destination.send(notification({ new: [critical] }, '2024-11-23T10:00:00.000Z'), undefined);

    ledger = await destination.send(notification({ open: [critical], new: [high] }, '2024-11-23T16:00:00.000Z'), ledger);
    expect(jira.issue('SEC-1')!.comments).toHaveLength(0);
    await destination.send(notification({ open: [critical, high] }, '2024-11-23T22:30:00.000Z'), ledger);

    expect(jira.issue('SEC-1')!.comments).toHaveLength(1);
    expect(jira.issue('SEC-1')!.comments[0]!.body).toContain('saw this again at 2024\\-11\\-23T22:30:00.000Z');
    expect(jira.issue('SEC-2')!.comments).toHaveLength(0);
  });

  it('sets configured fields and the assignee of the finding team', async () => {
    const destination = new JiraDestination(
      configure({ fields: { components: [{ name: 'checkout' }], customfield_10020: 'security' }, assignees: { payments: '5b10ac8d82e05b22cc7d4ef5' } }),
    );

    await destination.send(notification({ new: [{ ...critical, labels: { team: 'payments' } }] }), undefined);

    expect(jira.issues[0]!.fields).toMatchObject({
      components: [{ name: 'checkout' }],
      customfield_10020: 'security',
      assignee: { accountId: '5b10ac8d82e05b22cc7d4ef5' },
    });
  });

  it('escapes wiki markup in tool text so it cannot link or run a macro', async () => {
    const evil = vulnerability('CVE-2024-0001', 'high', { title: '[click|https://evil.example] {code}x{code} !http://evil/img.png!' });

    await new JiraDestination(config).send(notification({ new: [evil] }), undefined);

    const description = jira.issues[0]!.fields.description as string;
    expect(description).toContain('\\[click\\|https://evil.example\\] \\{code\\}x\\{code\\} \\!http://evil/img.png\\!');
    expect(description).not.toContain('[click|');
  });

  it('writes Atlassian Document Format on API v3', async () => {
    const destination = new JiraDestination(configure({ apiVersion: 3 }));
    const opened = await destination.send(notification({ new: [critical] }), undefined);
    await destination.send(notification({ resolved: [critical] }), opened);

    const description = jira.issues[0]!.fields.description as { type: string; content: Array<{ type: string }> };
    expect(description.type).toBe('doc');
    expect(description.content[0]!.type).toBe('heading');
    expect(jira.issues[0]!.comments[0]!.body).toMatchObject({ type: 'doc', version: 1 });
  });
});

describe('JiraDestination, one ticket per group', () => {
  const a = vulnerability('CVE-2024-0001', 'medium');
  const b = vulnerability('CVE-2024-0002', 'critical');

  it('opens one ticket for the group, comments changes, closes on resolution and reopens on regression', async () => {
    const destination = new JiraDestination(configure({ ticketPer: 'group' }));
    const n1 = notification({ new: [a, b] });

    const opened = await destination.send(n1, undefined);
    expect(jira.issues).toHaveLength(1);
    expect(jira.issues[0]!.fields).toMatchObject({ summary: '[critical] 2 findings in shop/checkout', priority: { name: 'Highest' } });
    expect(jira.issues[0]!.fields.labels).toContain(groupLabel(n1.key));
    expect(await destination.send(notification({ new: [a, b] }), undefined)).toMatchObject({ ref: 'SEC-1' });
    expect(jira.issues[0]!.comments).toEqual([]);

    const partly = await destination.send(notification({ resolved: [a], open: [b] }), opened);
    expect(jira.issues[0]!.comments[0]!.body).toContain('h3. Resolved (1)');
    const closed = await destination.send(notification({ resolved: [b] }), partly);
    expect(jira.issues[0]!.status).toBe('Done');
    expect(closed.status).toBe('resolved');
    await destination.send(notification({ regressed: [b] }), closed);
    expect(jira.issues[0]).toMatchObject({ status: 'To Do', history: ['Done', 'Reopen'] });
    expect(jira.issues).toHaveLength(1);
  });
});

describe('JiraDestination on Jira Cloud', () => {
  let cloud: JiraEmulator;
  beforeAll(async () => {
    cloud = await JiraEmulator.start({ cloud: true });
  });
  afterAll(async () => {
    await cloud.stop();
  });

  it('finds its tickets with /search/jql, since Cloud answers the old /search with 410 Gone', async () => {
    const onCloud = configure({ host: cloud.host, port: cloud.port });
    const critical = vulnerability('CVE-2024-2511');
    await new JiraDestination(onCloud).send(notification({ new: [critical] }), undefined);

    const again = await new JiraDestination(onCloud).send(notification({ new: [critical] }), undefined);

    expect(cloud.withLabel(findingLabel(critical))).toHaveLength(1);
    expect(again.extra![`issue:${critical.fingerprint}`]).toBe('SEC-1');
  });
});

describe('JiraDestination failures', () => {
  const finding = vulnerability('CVE-2024-2511');

  it('rejects bad credentials', async () => {
    const sent = new JiraDestination({ ...config, password: 'wrong' }).send(notification({ new: [finding] }), undefined);

    await expect(sent).rejects.toBeInstanceOf(DestinationRejected);
    await expect(sent).rejects.toThrow('jira: HTTP 401 You are not authenticated');
    await expect(sent).rejects.not.toThrow('wrong');
  });

  it('rejects a validation error naming the field', async () => {
    const sent = new JiraDestination({ ...config, project: 'NOPE' }).send(notification({ new: [finding] }), undefined);

    await expect(sent).rejects.toThrow('jira: HTTP 400 project: valid project is required');
  });

  it('surfaces 429 with its Retry-After and 503 as unavailable', async () => {
    jira.failNext(1, { status: 429, retryAfter: 7 });
    const limited = await new JiraDestination(config).send(notification({ new: [finding] }), undefined).catch((e) => e);
    expect(limited).toBeInstanceOf(RateLimited);
    expect((limited as RateLimited).retryAfterMs).toBe(7000);

    jira.failNext(1, { status: 503 }, /\/issue$/);
    const down = await new JiraDestination(config).send(notification({ new: [finding] }), undefined).catch((e) => e);
    expect(down).toBeInstanceOf(DestinationUnavailable);
    expect(jira.issues).toHaveLength(0);
  });

  it('rejects a workflow that offers neither the done nor the reopen transition', async () => {
    const destination = new JiraDestination({ ...config, doneTransition: 'Closed', reopenTransition: 'Back' });
    const opened = await destination.send(notification({ new: [finding] }), undefined);

    const sent = destination.send(notification({ resolved: [finding] }), opened);

    await expect(sent).rejects.toThrow('jira: SEC-1 offers no transition "Closed" (available: In Progress, Done)');
  });
});
