import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { createLogger, startEmbeddedRedis } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { startKlaxon } from '../../apps/klaxon/src/klaxon';
import { WebhookEmulator } from '../emulators/webhook.emulator';
import { waitFor } from '../support/wait';
import { syntheticTrivyReport } from './support';

const TOKEN = 'soak-token';
const REPOSITORIES = 4;

export interface SoakSample {
  findings: number;
  usedMemory: number;
  /** Findings stored (open and resolved not yet removed). */
  stored: number;
  resolved: number;
}

/**
 * The whole app on a private redis-server, fed `reports` Trivy reports of `perReport` new
 * vulnerabilities each, round-robin over a few image repositories, each report a new digest: every
 * report opens its findings and resolves those of the repository's previous digest. Retention is short
 * (resolved findings kept 1 s, events 30 s, a sweep every 2 s), so memory should stop growing once it
 * applies. Samples INFO memory used_memory after each report and once more when all is swept.
 */
export const SOAK_REPOSITORIES = REPOSITORIES;

export async function soak(reports: number, perReport: number, onSample: (s: SoakSample) => void = () => undefined): Promise<SoakSample[]> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-soak-'));
  const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
  const hook = await WebhookEmulator.start();
  const probe = new IORedis(redisServer.url);
  const config = parseConfig(
    `
auth:
  apiToken: \${KLAXON_API_TOKEN}
destinations:
  siem: { type: webhook, url: "${hook.url}" }
routes:
  to: [siem]
  groupBy: [artifact.repository]
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1h
retention:
  events: 30s
  resolvedFindings: 1s
  completedJobs: 5s
  failedJobs: 5s
  sweepEvery: 2s
`,
    { KLAXON_API_TOKEN: TOKEN },
  );
  const klaxon = await startKlaxon({ config, redisUrl: redisServer.url, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'warn' }) });
  const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await probe.info('memory'))![1]);
  const stored = () => probe.zcard('klaxon:{findings}:findings:seen');
  const samples: SoakSample[] = [];
  const sample = async (findings: number) => {
    const s = { findings, usedMemory: await usedMemory(), stored: await stored(), resolved: await probe.scard('klaxon:{findings}:idx:state:resolved') };
    samples.push(s);
    onSample(s);
  };
  try {
    // The webhook emulator keeps what it received: only the last few are needed to see deliveries go on.
    const trim = () => hook.deliveries.splice(0, Math.max(0, hook.deliveries.length - 10));
    for (let r = 0; r < reports; r++) {
      const digest = `sha256:${r.toString(16).padStart(64, '0')}`;
      const body = syntheticTrivyReport(perReport, digest, { repository: `soak/app-${r % REPOSITORIES}`, firstCve: r * perReport });
      const res = await fetch(`${klaxon.url}/v1/reports?format=trivy`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      });
      if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
      const { eventId } = (await res.json()) as { eventId: string };
      await waitFor(async () => (await klaxon.runtime.events.get(eventId))?.status === 'routed', `report ${r} routed`, 300_000);
      trim();
      await sample((r + 1) * perReport);
    }
    // Let the last resolutions age past retention and the sweep run.
    await waitFor(async () => (await probe.scard('klaxon:{findings}:idx:state:resolved')) === 0, 'resolved findings swept', 60_000);
    await sample(reports * perReport);
    return samples;
  } finally {
    await klaxon.close();
    await probe.quit();
    await hook.stop();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
