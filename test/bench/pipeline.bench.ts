import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { createLogger, startEmbeddedRedis } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { startKlaxon } from '../../apps/klaxon/src/klaxon';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { waitFor } from '../support/wait';
import { formatRate, redisCommandCount, redisRoundTrips, syntheticTrivyReport } from './support';

const FINDINGS = 5_000;
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const TOKEN = 'bench-token';

/**
 * The whole pipeline on a private redis-server: a 5,000-vulnerability Trivy report posted over HTTP
 * until the Slack emulator has the message (first post), then the same report again until triage is
 * done (repost: nothing to send).
 */
export async function run(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-bench-'));
  const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
  const slack = await SlackEmulator.start();
  const probe = new IORedis(redisServer.url);
  const config = parseConfig(
    `
auth:
  apiToken: \${KLAXON_API_TOKEN}
destinations:
  slack-sec: { type: slack, token: ${DEFAULT_TOKEN}, channel: "#sec-alerts", apiUrl: "${slack.url}" }
routes:
  to: [slack-sec]
  groupBy: [artifact.repository]
  groupWait: 0s
`,
    { KLAXON_API_TOKEN: TOKEN },
  );
  const klaxon = await startKlaxon({
    config,
    redisUrl: redisServer.socket ?? redisServer.url,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: 'warn' }),
  });
  const report = syntheticTrivyReport(FINDINGS, DIGEST);
  const post = async () => {
    const res = await fetch(`${klaxon.url}/v1/reports?format=trivy`, {
      method: 'POST',
      body: report,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { eventId: string }).eventId;
  };
  const status = (id: string) => klaxon.runtime.events.get(id);

  try {
    const rows: string[][] = [];
    for (const round of ['first post', 'repost']) {
      await probe.config('RESETSTAT');
      const before = await redisCommandCount(probe);
      const tripsBefore = redisRoundTrips();
      const started = performance.now();
      const eventId = await post();
      if (round === 'first post') await waitFor(() => slack.messages.length > 0, 'the Slack message', 120_000);
      else await waitFor(async () => (await status(eventId))?.status === 'triaged', 'triage', 120_000);
      const ms = performance.now() - started;
      // Includes the few the wait itself polls the event with (about one per 50 ms).
      const trips = redisRoundTrips() - tripsBefore;
      const commands = (await redisCommandCount(probe)) - before;
      const event = await status(eventId);
      rows.push([
        round,
        `${Math.round(ms)} ms`,
        formatRate(FINDINGS, ms),
        (commands / FINDINGS).toFixed(2),
        ((trips / FINDINGS) * 100).toFixed(1),
        JSON.stringify(event?.triage),
      ]);
    }
    return [
      `Pipeline: ${FINDINGS.toLocaleString('en-US')}-vulnerability Trivy report → Slack emulator (${slack.messages.length} message)`,
      ['round', 'end-to-end', 'findings/s', 'redis cmds/finding', 'redis round trips/100 findings', 'triage'].join(' | '),
      ...rows.map((row) => row.join(' | ')),
    ];
  } finally {
    await klaxon.close();
    await probe.quit();
    await slack.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
