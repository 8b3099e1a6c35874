import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFinding } from '@klaxon/findings';
import { JOB, QUEUE, deliverQueue } from '@klaxon/platform';
import type { Notification } from '@klaxon/routing';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { WebhookEmulator } from '../emulators/webhook.emulator';
import { checkoutReport, postReport } from '../support/destinations';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const HOUR = 3_600_000;

/**
 * Three destinations, one route grouping the checkout report by severity (several groups, so several
 * notifications to each at once): Slack limited to 1 send an hour, a webhook to 2 an hour, and a
 * webhook with no rateLimit (no limiter: concurrency only). The limits are far longer than the test,
 * so what is asserted is the queues' state, not how long anything took.
 */
const config = (slack: SlackEmulator, siem: WebhookEmulator, audit: WebhookEmulator) => `
destinations:
  slack-sec:
    type: slack
    token: ${DEFAULT_TOKEN}
    channel: "#sec-alerts"
    apiUrl: ${slack.url}
    rateLimit: { max: 1, per: 1h }
  audit:
    type: webhook
    url: ${audit.url}
    rateLimit: { max: 2, per: 1h }
  siem:
    type: webhook
    url: ${siem.url}
routes:
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1d
  groupBy: [severity]
  to: [slack-sec, audit, siem]
`;

describe('per-destination rate limits in the running notifier', () => {
  let slack: SlackEmulator;
  let siem: WebhookEmulator;
  let audit: WebhookEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    slack = await SlackEmulator.start();
    siem = await WebhookEmulator.start();
    audit = await WebhookEmulator.start();
    klaxon = await startTestKlaxon(config(slack, siem, audit));
  });
  afterAll(async () => {
    await klaxon?.close();
    await Promise.all([slack?.stop(), siem?.stop(), audit?.stop()]);
  });

  it('holds each destination to its own configured limit on its own queue, and leaves the unlimited webhook alone', { timeout: 60_000 }, async () => {
    const queue = (name: string) => klaxon.runtime.queues.queue(name);
    await postReport(klaxon, checkoutReport);

    // Settled: every group flushed (its deliver jobs queued; what is left in the group queue are the
    // repeat timers a day out) and the unlimited webhook sent each notification. Completed deliveries
    // leave no job behind: what went out is what the receivers got.
    const groups = await waitFor(
      async () => {
        const timers = await queue(QUEUE.group).getJobs(['wait', 'active', 'delayed', 'prioritized']);
        const due = timers.filter((job) => (job.opts.delay ?? 0) < HOUR);
        const siemJobs = await queue(deliverQueue('siem')).getJobCounts('wait', 'active', 'delayed', 'failed');
        const settled = timers.length > 0 && due.length === 0 && Object.values(siemJobs).every((n) => n === 0);
        // Each group is one notification to each destination: the unlimited webhook got one per group.
        return settled && siem.processed().length >= 3 && siem.processed().length === timers.length ? timers.length : undefined;
      },
      'every group delivered to the unlimited webhook',
      30_000,
    );

    const counts = (name: string) => queue(deliverQueue(name)).getJobCounts('wait', 'active', 'completed', 'delayed', 'failed');
    await waitFor(
      async () => slack.roots().length === 1 && audit.processed().length === 2 && (await counts('audit')).active === 0,
      'the sends the limits allow',
    );

    // What the limiter let through went out; the rest waits in its own queue, not failed, not retried.
    expect(slack.roots()).toHaveLength(1);
    expect(audit.processed()).toHaveLength(2);
    expect(await counts('slack-sec')).toEqual({ wait: groups - 1, active: 0, completed: 0, delayed: 0, failed: 0 });
    expect(await counts('audit')).toEqual({ wait: groups - 2, active: 0, completed: 0, delayed: 0, failed: 0 });

    // The window BullMQ's limiter holds on each queue is the configured `per` (1h), counted from its first send.
    for (const name of ['slack-sec', 'audit']) {
      const ttl = await queue(deliverQueue(name)).getRateLimitTtl();
      expect(ttl).toBeGreaterThan(HOUR - 5 * 60_000);
      expect(ttl).toBeLessThanOrEqual(HOUR);
    }
    // No rateLimit on the webhook: no limiter key at all (PTTL of a missing key).
    expect(await queue(deliverQueue('siem')).getRateLimitTtl()).toBe(-2);
  });

  it('moves a job queued by a version with per-type queues (deliver.webhook) to its destination’s queue', async () => {
    const finding = toFinding({
      kind: 'vulnerability',
      stage: 'build',
      source: { tool: 'trivy', integration: 'report' },
      title: 'CVE-2099-1 in zlib',
      severity: 'high',
      rule: { id: 'CVE-2099-1' },
      artifact: { repository: 'shop/legacy' },
      fixable: false,
      observedAt: '2026-11-23T10:00:00Z',
    });
    const notification: Notification = {
      id: 'legacy-window-1',
      key: 'siem:legacy-group',
      route: 'root',
      destination: 'siem',
      groupLabels: { severity: 'high' },
      createdAt: '2026-11-23T10:00:00.000Z',
      seq: 1,
      changes: { new: [finding], regressed: [], resolved: [], open: [] },
    };
    await klaxon.runtime.queues.add(deliverQueue('webhook'), JOB.deliver, { notification }, { jobId: 'deliver-legacy-window-1' });
    await waitFor(
      () => siem.processed().find((d) => (d.body as { notification: { id: string } }).notification.id === 'legacy-window-1'),
      'the legacy job delivered',
    );
    // Delivered once, from the destination's queue, and gone from both as a completed delivery is.
    expect(siem.processed().filter((d) => (d.body as { notification: { id: string } }).notification.id === 'legacy-window-1')).toHaveLength(1);
    await waitFor(
      async () => ((await klaxon.runtime.queues.queue(deliverQueue('siem')).getJob('deliver-legacy-window-1')) ? undefined : true),
      'the moved job done',
    );
    expect(await klaxon.runtime.queues.queue(deliverQueue('webhook')).getJobCounts('wait', 'active', 'delayed', 'failed')).toEqual({
      wait: 0,
      active: 0,
      delayed: 0,
      failed: 0,
    });
  });
});
