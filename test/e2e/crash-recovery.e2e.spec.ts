import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import IORedis, { type Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { QUEUE, deliverQueue, freePort } from '@klaxon/platform';
import type { WebhookPayload } from '@klaxon/destinations';
import { WebhookEmulator } from '../emulators/webhook.emulator';
import { ChildKlaxon } from '../support/child-klaxon';
import { testRedisUrl } from '../support/redis';
import { waitFor } from '../support/wait';

/*
 * Nothing accepted is lost, nothing is delivered twice, whenever the process dies. The app runs as its
 * own process (`klaxon start`) and is killed with SIGKILL at seeded random moments while Alertmanager
 * bodies arrive; like Alertmanager, the sender posts a body again until it is answered 202. Every alert
 * is its own finding; the webhook receiver counts them by Alertmanager fingerprint.
 * KLAXON_CRASH_SEED and KLAXON_CRASH_RUNS repeat or lengthen a run.
 */
const SEED = Number(process.env.KLAXON_CRASH_SEED ?? 20261125);
const RUNS = Number(process.env.KLAXON_CRASH_RUNS ?? 20);
const POSTS_PER_RUN = 2;
const ALERTS_PER_POST = 50;
/** A database of its own: the child uses the default key prefix, and FLUSHDB must not touch other tests. */
const DB = 7;
const ALERTMANAGER_TOKEN = 'crash-test-token';

/** mulberry32: a small seeded generator, so a failing sequence of kill moments can be run again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function alertmanagerBody(post: number): string {
  const batch = `b${post}`;
  const alerts = Array.from({ length: ALERTS_PER_POST }, (_, i) => {
    const n = post * ALERTS_PER_POST + i;
    return {
      status: 'firing',
      labels: { alertname: 'KubePodCrashLooping', severity: 'critical', namespace: 'crash', deployment: `svc-${n}`, batch },
      annotations: { summary: `svc-${n} is crash looping` },
      startsAt: '2026-11-25T10:00:00Z',
      fingerprint: `fp${String(n).padStart(6, '0')}`,
    };
  });
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{batch="${batch}"}`,
    status: 'firing',
    receiver: 'klaxon',
    groupLabels: { batch },
    commonLabels: { batch },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example',
    alerts,
  });
}

describe('crash recovery (SIGKILL at random moments)', () => {
  let hook: WebhookEmulator;
  let redis: Redis;
  let redisUrl: string;
  let dir: string;
  let queues: Queue[];

  beforeAll(async () => {
    hook = await WebhookEmulator.start();
    redisUrl = `${testRedisUrl()}/${DB}`;
    redis = new IORedis(redisUrl, { maxRetriesPerRequest: null });
    await redis.flushdb();
    queues = [...Object.values(QUEUE), deliverQueue('siem')].map((name) => new Queue(name, { connection: redis, prefix: 'klaxon:bull' }));
    dir = ChildKlaxon.configDir(`
sources:
  alertmanager: { token: ${ALERTMANAGER_TOKEN} }
jobs:
  stalledAfter: 2s
destinations:
  siem: { type: webhook, url: "${hook.url}" }
routes:
  to: [siem]
  groupBy: [labels.batch]
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 24h
`);
  });
  afterAll(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await redis?.flushdb();
    await redis?.quit();
    await hook?.stop();
  });

  it(`loses nothing and delivers nothing twice over ${RUNS} kills`, { timeout: 900_000 }, async () => {
    const next = random(SEED);
    const totalPosts = (RUNS + 1) * POSTS_PER_RUN;
    const unanswered = Array.from({ length: totalPosts }, (_, post) => post);
    let fed = 0;
    const port = await freePort();
    const kills: number[] = [];

    // Each run posts its share of new bodies plus every body not yet answered 202, then dies at a random moment.
    const feed = async (app: ChildKlaxon, stop: () => boolean) => {
      fed = Math.min(totalPosts, fed + POSTS_PER_RUN);
      for (const post of unanswered.filter((p) => p < fed)) {
        if (stop()) return;
        try {
          const res = await fetch(`${app.url}/v1/webhooks/alertmanager`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${ALERTMANAGER_TOKEN}` },
            body: alertmanagerBody(post),
          });
          if (res.status === 202) unanswered.splice(unanswered.indexOf(post), 1);
        } catch {
          return; // killed mid-request: posted again in the next run
        }
      }
    };

    for (let run = 0; run < RUNS; run++) {
      const app = ChildKlaxon.start(dir, { REDIS_URL: redisUrl, PORT: port });
      await app.ready();
      const killAfter = Math.round(next() * 4000);
      kills.push(killAfter);
      let killed = false;
      const feeding = feed(app, () => killed);
      await new Promise((r) => setTimeout(r, killAfter));
      killed = true;
      await app.kill('SIGKILL');
      await feeding;
    }

    const app = ChildKlaxon.start(dir, { REDIS_URL: redisUrl, PORT: port });
    try {
      await app.ready();
      fed = totalPosts;
      while (unanswered.length) await feed(app, () => false);
      const expected = totalPosts * ALERTS_PER_POST;
      const counts = () => {
        const seen = new Map<string, number>();
        for (const delivery of hook.processed()) {
          const { notification } = delivery.body as WebhookPayload;
          for (const f of notification.changes.new) {
            const fp = f.labels?.['alertmanager.fingerprint'] ?? '';
            seen.set(fp, (seen.get(fp) ?? 0) + 1);
          }
        }
        return seen;
      };
      await waitFor(() => counts().size >= expected, `${expected} alerts delivered`, 240_000);
      await waitFor(() => quiet(queues), 'queues empty', 60_000);

      const seen = counts();
      const twice = [...seen].filter(([, n]) => n > 1).map(([fp]) => fp);
      const report = {
        seed: SEED,
        runs: RUNS,
        killAfterMs: kills,
        alerts: expected,
        delivered: seen.size,
        lost: expected - seen.size,
        deliveredTwice: twice.length,
        resentSameIdempotencyKey: hook.deliveries.length - hook.processed().length,
      };
      console.info(`crash test: ${JSON.stringify(report)}`);
      expect(report).toMatchObject({ lost: 0, deliveredTwice: 0 });
      expect(await redis.zcard('klaxon:dead-letters')).toBe(0);
    } finally {
      await app.kill('SIGTERM');
    }
  });
});

/** No job waiting, running or due soon in any queue (a group's repeat timer, a day away, does not count). */
async function quiet(queues: Queue[]): Promise<boolean> {
  for (const queue of queues) {
    const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'waiting-children');
    if (Object.values(counts).some((n) => n > 0)) return false;
    const soon = (await queue.getDelayed()).filter((job) => job.timestamp + (job.opts.delay ?? 0) < Date.now() + 60_000);
    if (soon.length) return false;
  }
  return true;
}
