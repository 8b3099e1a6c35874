import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Finding } from '@klaxon/findings';
import { Test } from '@nestjs/testing';
import { PlatformModule, Runtime, createLogger } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import type { Notification } from '@klaxon/routing';
import { DEFAULT_TOKEN, SlackEmulator } from '../../../../test/emulators/slack.emulator';
import { WebhookEmulator } from '../../../../test/emulators/webhook.emulator';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { waitFor } from '../../../../test/support/wait';
import { NotifierModule } from '../notifier.module';
import { DeliverNotificationProcessor } from './deliver-notification.processor';

function finding(id: string): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'build',
    source: { tool: 'trivy', integration: 'report' },
    title: `${id} in openssl`,
    severity: 'critical',
    rule: { id },
    artifact: { repository: 'shop/checkout' },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-23T10:00:00Z',
  });
}

function notification(destination: string, seq: number, changes: Partial<Notification['changes']>): Notification {
  return {
    id: `${destination}-window-${seq}`,
    key: `${destination}:group-1`,
    route: 'root',
    destination,
    groupLabels: { 'artifact.repository': 'shop/checkout' },
    createdAt: `2026-11-23T10:0${seq}:00.000Z`,
    seq,
    changes: { new: [], regressed: [], resolved: [], open: [], ...changes },
  };
}

describe('deliveries that arrive out of order', () => {
  let redis: Redis;
  let prefix: string;
  let slack: SlackEmulator;
  let hook: WebhookEmulator;
  let processor: DeliverNotificationProcessor;

  beforeAll(async () => {
    redis = testRedis();
    prefix = testPrefix('deliver');
    slack = await SlackEmulator.start();
    hook = await WebhookEmulator.start();
    const config = parseConfig(
      `destinations:\n  slack-sec: { type: slack, token: ${DEFAULT_TOKEN}, channel: "#sec-alerts", apiUrl: "${slack.url}" }\n  siem: { type: webhook, url: "${hook.url}" }\nroutes: {}\n`,
      {},
    );
    const runtime = new Runtime(config, [], redis, prefix, createLogger({ level: 'silent' }));
    // Compiled, not started: the processor is called directly, no worker takes jobs.
    const module = await Test.createTestingModule({ imports: [PlatformModule.forRoot(runtime), NotifierModule] }).compile();
    processor = module.get(DeliverNotificationProcessor);
  });
  afterAll(async () => {
    await slack?.stop();
    await hook?.stop();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('a destination showing the group’s current state skips a window older than the one it shows', async () => {
    // Window 2 (everything resolved) went out while window 1 (the finding opening) was being retried.
    await processor.execute({ notification: notification('slack-sec', 1, { new: [finding('CVE-1')] }) });
    await processor.execute({ notification: notification('slack-sec', 3, { resolved: [{ ...finding('CVE-1'), state: 'resolved' }] }) });
    const shown = slack.messages.length;
    await processor.execute({ notification: notification('slack-sec', 2, { new: [finding('CVE-2')] }) });
    expect(slack.messages).toHaveLength(shown);
    expect(slack.roots()[0].text).toMatch(/resolved/i);
  });

  it('a destination carrying each window’s own changes still gets an older window', async () => {
    await processor.execute({ notification: notification('siem', 2, { new: [finding('CVE-3')] }) });
    await processor.execute({ notification: notification('siem', 1, { resolved: [{ ...finding('CVE-4'), state: 'resolved' }] }) });
    expect(hook.deliveries).toHaveLength(2);
  });

  it('writes what a send leaves in one transaction: the ledger entry and sent id, the count, the lock’s release, the event’s record', async () => {
    const monitor = await testRedis().monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen.push(args);
    });
    const done = `done ${prefix}`;
    const sent = { ...notification('siem', 1, { new: [finding('CVE-6')] }), id: 'siem-one-write', key: 'siem:group-one-write', eventId: 'evt_one_write' };
    await processor.execute({ notification: sent });
    await redis.echo(done);
    await waitFor(() => seen.some((a) => a[0] === 'echo' && a[1] === done), 'the monitor to see the delivery');
    await monitor.disconnect();
    const start = seen.findLastIndex((a) => a[0].toLowerCase() === 'multi');
    const end = seen.findIndex((a, i) => i > start && a[0].toLowerCase() === 'exec');
    expect(start).toBeGreaterThanOrEqual(0);
    const inside = seen.slice(start + 1, end);
    const touched = inside.map((a) => (a[0].toLowerCase() === 'evalsha' || a[0].toLowerCase() === 'eval' ? a[3] : a[1]));
    expect(touched).toEqual(
      expect.arrayContaining([
        `${prefix}:ledger:siem:siem:group-one-write`,
        `${prefix}:ledger-sent:siem:siem-one-write`,
        `${prefix}:ledger-lock:siem:siem:group-one-write`,
        `${prefix}:event:evt_one_write:deliveries`,
      ]),
    );
    expect(inside.some((a) => a[0].toLowerCase() === 'hincrby' && a[2] === 'siem')).toBe(true);
    expect(await redis.exists(`${prefix}:ledger-lock:siem:siem:group-one-write`)).toBe(0);
  });

  it('a retried job whose send was recorded sends nothing again, to any destination', async () => {
    const toSlack = { ...notification('slack-sec', 7, { new: [finding('CVE-5')] }), key: 'slack-sec:group-retried' };
    const toHook = { ...notification('siem', 7, { new: [finding('CVE-5')] }), key: 'siem:group-retried' };
    const [posted, delivered] = [slack.messages.length, hook.deliveries.length];
    for (let i = 0; i < 2; i++) {
      await processor.execute({ notification: toSlack });
      await processor.execute({ notification: toHook });
    }
    expect(slack.messages).toHaveLength(posted + 1);
    expect(hook.deliveries).toHaveLength(delivered + 1);
  });
});
