import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SEVERITIES, toFinding, type Finding, type Severity } from '@klaxon/findings';
import type { SlackDestinationConfig } from './config';
import type { Notification, NotificationChanges } from '@klaxon/routing';
import { SlackEmulator } from '../../../../test/emulators/slack.emulator';
import { DestinationRejected, DestinationUnavailable, RateLimited } from '../destination';
import { renderSlack } from './render';
import { SlackDestination } from './slack.destination';

const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

function vulnerability(id: string, severity: Severity = 'critical', pkg = 'openssl'): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'harbor' },
    title: `${pkg}: ${id}`,
    severity,
    rule: { id },
    artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', digest: DIGEST },
    package: { name: pkg, ecosystem: 'debian', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2024-11-23T10:00:00Z',
  });
}

let sends = 0;
function notification(changes: Partial<NotificationChanges>): Notification {
  sends++;
  return {
    id: `n-${sends}`,
    key: 'images:shop/checkout',
    route: 'images',
    destination: 'sec-slack',
    groupLabels: { 'artifact.repository': 'shop/checkout' },
    createdAt: `2024-11-23T10:${String(sends % 60).padStart(2, '0')}:00.000Z`,
    changes: { new: [], regressed: [], resolved: [], open: [], ...changes },
  };
}

let slack: SlackEmulator;
let config: SlackDestinationConfig;

beforeAll(async () => {
  slack = await SlackEmulator.start();
  config = { type: 'slack', token: slack.token, channel: '#sec-alerts', apiUrl: slack.url };
});
afterAll(async () => {
  await slack.stop();
});
beforeEach(() => slack.reset());

describe('SlackDestination', () => {
  const cve1 = vulnerability('CVE-2024-2511');
  const cve2 = vulnerability('CVE-2024-4741', 'high');

  it('posts one message for the first send and remembers its channel and ts', async () => {
    const n = notification({ new: [cve1, cve2] });

    const ledger = await new SlackDestination(config).send(n, undefined);

    expect(slack.messages).toHaveLength(1);
    const [root] = slack.messages;
    expect(root).toMatchObject({ channel: 'C0SECALERTS', ...renderSlack(n, {}) });
    expect(root!.thread_ts).toBeUndefined();
    expect(ledger).toEqual({
      ref: `C0SECALERTS:${root!.ts}`,
      lastNotificationId: n.id,
      status: 'open',
      sentAt: n.createdAt,
      extra: { channel: 'C0SECALERTS', ts: root!.ts },
    });
  });

  it('posts a later change under the same key as a reply in the thread', async () => {
    const destination = new SlackDestination(config);
    const first = await destination.send(notification({ new: [cve1] }), undefined);
    const later = notification({ new: [cve2], open: [cve1] });

    const ledger = await destination.send(later, first);

    expect(slack.roots()).toHaveLength(1);
    const replies = slack.replies(first.extra!.ts!);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ channel: 'C0SECALERTS', reply_broadcast: false, text: renderSlack(later, {}).text });
    expect(slack.updates).toEqual([]);
    expect(ledger).toMatchObject({ ref: first.ref, lastNotificationId: later.id, status: 'open', sentAt: later.createdAt });
    expect(ledger.extra).toMatchObject({ channel: 'C0SECALERTS', ts: first.extra!.ts, lastReplyTs: replies[0]!.ts });
  });

  it('edits the root message to resolved when everything in the group resolved', async () => {
    const destination = new SlackDestination(config);
    const first = await destination.send(notification({ new: [cve1, cve2] }), undefined);
    const resolution = notification({ resolved: [cve1, cve2] });

    const ledger = await destination.send(resolution, first);

    const rootTs = first.extra!.ts!;
    expect(slack.updates).toEqual([{ channel: 'C0SECALERTS', ts: rootTs, ...renderSlack(resolution, {}) }]);
    expect(slack.roots()[0]).toMatchObject({ ts: rootTs, edited: true });
    expect(slack.roots()[0]!.text).toMatch(/^:white_check_mark: All 2 findings resolved in shop\/checkout/);
    expect(slack.replies(rootTs)).toHaveLength(1);
    expect(ledger.status).toBe('resolved');
  });

  it('does not edit the root while some findings stay open', async () => {
    const destination = new SlackDestination(config);
    const first = await destination.send(notification({ new: [cve1, cve2] }), undefined);

    const ledger = await destination.send(notification({ resolved: [cve1], open: [cve2] }), first);

    expect(slack.updates).toEqual([]);
    expect(slack.replies(first.extra!.ts!)).toHaveLength(1);
    expect(ledger.status).toBe('open');
  });

  it('reopens the root and tells the channel when a resolved group regresses', async () => {
    const destination = new SlackDestination(config);
    const first = await destination.send(notification({ new: [cve1] }), undefined);
    const resolved = await destination.send(notification({ resolved: [cve1] }), first);

    const ledger = await destination.send(notification({ regressed: [cve1] }), resolved);

    expect(ledger.status).toBe('open');
    expect(slack.updates).toHaveLength(2);
    expect(slack.roots()[0]!.text).toMatch(/^1 regressed finding in shop\/checkout/);
    expect(slack.replies(first.extra!.ts!).map((m) => m.reply_broadcast)).toEqual([false, true]);
  });

  it('posts a 5,000-finding notification that passes Slack block validation', async () => {
    const findings = Array.from({ length: 5000 }, (_, i) => vulnerability(`CVE-2024-${i}`, SEVERITIES[i % SEVERITIES.length]!, `package-${i}`));

    await new SlackDestination(config).send(notification({ new: findings }), undefined);

    expect(slack.calls).toEqual([{ method: 'chat.postMessage', ok: true, error: undefined, status: 200 }]);
  });

  it('rejects a wrong token', async () => {
    const destination = new SlackDestination({ ...config, token: 'xoxb-revoked' });

    const sent = destination.send(notification({ new: [cve1] }), undefined);

    await expect(sent).rejects.toBeInstanceOf(DestinationRejected);
    await expect(sent).rejects.toThrow('slack: invalid_auth');
    expect(slack.messages).toEqual([]);
  });

  it('rejects an unknown channel', async () => {
    const destination = new SlackDestination({ ...config, channel: '#does-not-exist' });

    const sent = destination.send(notification({ new: [cve1] }), undefined);

    await expect(sent).rejects.toBeInstanceOf(DestinationRejected);
    await expect(sent).rejects.toThrow('slack: channel_not_found');
  });

  it('surfaces rate limiting with the Retry-After delay instead of waiting', async () => {
    slack.failNext(1, { status: 429, retryAfter: 2 });

    const error = await new SlackDestination(config).send(notification({ new: [cve1] }), undefined).catch((e) => e);

    expect(error).toBeInstanceOf(RateLimited);
    expect((error as RateLimited).retryAfterMs).toBe(2000);
    expect(slack.calls).toHaveLength(1);
  });

  it('reports a server error as unavailable without retrying in the client', async () => {
    slack.failNext(1, { status: 500 });

    const error = await new SlackDestination(config).send(notification({ new: [cve1] }), undefined).catch((e) => e);

    expect(error).toBeInstanceOf(DestinationUnavailable);
    expect((error as DestinationUnavailable).status).toBe(500);
    expect(slack.calls).toHaveLength(1);
  });

  it('reports an unexpected platform error as unavailable', async () => {
    slack.failNext(1, { error: 'internal_error' });

    const sent = new SlackDestination(config).send(notification({ new: [cve1] }), undefined);

    await expect(sent).rejects.toBeInstanceOf(DestinationUnavailable);
  });

  it('reports a refused connection as unavailable', async () => {
    const down = await SlackEmulator.start();
    const apiUrl = down.url;
    await down.stop();

    const sent = new SlackDestination({ ...config, apiUrl }).send(notification({ new: [cve1] }), undefined);

    await expect(sent).rejects.toBeInstanceOf(DestinationUnavailable);
  });

  it('edits the root before replying, so a retried resolution shows once', async () => {
    const destination = new SlackDestination(config);
    const first = await destination.send(notification({ new: [cve1] }), undefined);
    const resolution = notification({ resolved: [cve1] });
    slack.failNext(1, { status: 429, retryAfter: 1 }, { method: 'chat.postMessage' });

    await expect(destination.send(resolution, first)).rejects.toBeInstanceOf(RateLimited);
    await destination.send(resolution, first);

    expect(slack.replies(first.extra!.ts!)).toHaveLength(1);
    expect(slack.updates).toHaveLength(2);
    expect(slack.updates[1]).toEqual(slack.updates[0]);
  });
});
