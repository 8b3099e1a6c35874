import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { createLogger, startEmbeddedRedis } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { startKlaxon } from '../../apps/klaxon/src/klaxon';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { waitFor } from '../support/wait';
import { formatRate, median, redisCommandCount, redisRoundTrips, runCount, spread, syntheticTrivyReport } from './support';

const FINDINGS = 5_000;
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const TOKEN = 'bench-token';

const ROUNDS = ['first post', 'repost'] as const;

/** One round of one run. */
interface Round {
  ms: number;
  commandsPerFinding: number;
  tripsPer100: number;
  triage: unknown;
}

/**
 * The whole pipeline on a private redis-server: a 5,000-vulnerability Trivy report posted over HTTP
 * until the Slack emulator has the message (first post), then the same report again until triage is
 * done (repost: nothing to send). KLAXON_PIPELINE_RUNS=<n> does it n times, each on a new Redis and
 * Klaxon, and shows each figure's median with its range.
 */
export async function run(): Promise<string[]> {
  const runs = runCount('KLAXON_PIPELINE_RUNS');
  const results: Round[][] = [];
  let messages = 0;
  for (let i = 0; i < runs; i++) {
    const { rounds, slackMessages } = await once();
    results.push(rounds);
    messages = slackMessages;
  }
  const of = (r: number) => results.map((rounds) => rounds[r]);
  return [
    `Pipeline: ${FINDINGS.toLocaleString('en-US')}-vulnerability Trivy report → Slack emulator (${messages} message)` +
      (runs > 1 ? `; ${runs} runs, each on a new Redis and Klaxon: median (lowest–highest)` : ''),
    ['round', 'end-to-end', 'findings/s', 'redis cmds/finding', 'redis round trips/100 findings', 'triage'].join(' | '),
    ...ROUNDS.map((round, r) => {
      const ms = of(r).map((x) => x.ms);
      return [
        round,
        spread(ms, (v) => `${Math.round(v)} ms`),
        formatRate(FINDINGS, median(ms)),
        spread(
          of(r).map((x) => x.commandsPerFinding),
          (v) => v.toFixed(2),
        ),
        spread(
          of(r).map((x) => x.tripsPer100),
          (v) => v.toFixed(1),
        ),
        JSON.stringify(of(r).at(-1)!.triage),
      ].join(' | ');
    }),
  ];
}

async function once(): Promise<{ rounds: Round[]; slackMessages: number }> {
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
    const rounds: Round[] = [];
    for (const round of ROUNDS) {
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
      rounds.push({ ms, commandsPerFinding: commands / FINDINGS, tripsPer100: (trips / FINDINGS) * 100, triage: event?.triage });
    }
    return { rounds, slackMessages: slack.messages.length };
  } finally {
    await klaxon.close();
    await probe.quit();
    await slack.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
