import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { GroupRepository, groupChanges, type PendingChange } from '@klaxon/routing';
import { parseInput } from '@klaxon/sources';
import { ExceptionRepository, ExceptionStore, FindingRepository, TriageBatch } from '@klaxon/triage';
import { startEmbeddedRedis } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { formatRate, redisCommandCount, syntheticTrivyReport } from './support';

const FINDINGS = 5_000;
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

/**
 * Triage of a 5,000-vulnerability report on a private redis-server, at the use-case level (no HTTP, no
 * queues): the upsert, scope resolution and index scripts, then the route step's group update. First
 * post: every finding is new; repost: the same report again (nothing changes). Redis commands are
 * counted by INFO commandstats, the calls scripts make included.
 */
export async function run(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-bench-'));
  const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
  const redis = new IORedis(redisServer.url);
  const probe = new IORedis(redisServer.url);
  const prefix = 'bench';
  const triage = new TriageBatch(new FindingRepository(redis, prefix), new ExceptionStore([], new ExceptionRepository(redis, prefix)));
  const groups = new GroupRepository(redis, prefix);
  const config = parseConfig(
    `
destinations:
  slack-sec: { type: slack, token: xoxb-bench, channel: "#sec-alerts" }
routes:
  to: [slack-sec]
  groupBy: [artifact.repository]
`,
    {},
    'bench.yaml',
  );
  const { batch } = parseInput(syntheticTrivyReport(FINDINGS, DIGEST), 'trivy', {
    eventId: 'bench',
    receivedAt: '2026-11-23T10:00:00Z',
    integration: 'report',
    context: {},
  });

  const measure = async (work: () => Promise<unknown>) => {
    await probe.config('RESETSTAT');
    const before = await redisCommandCount(probe);
    const started = performance.now();
    const result = await work();
    const ms = performance.now() - started;
    // The probe's own INFO call counts once.
    const commands = (await redisCommandCount(probe)) - before - 1;
    return { ms, commands, result };
  };

  try {
    const rows: string[][] = [];
    for (const round of ['first post', 'repost']) {
      const { ms, commands, result } = await measure(() => triage.execute(batch, new Date(), `evt-${round}`));
      const counts = (result as Awaited<ReturnType<TriageBatch['execute']>>).counts;
      rows.push([`triage, ${round}`, `${Math.round(ms)} ms`, formatRate(FINDINGS, ms), (commands / FINDINGS).toFixed(2), JSON.stringify(counts)]);
      if (round === 'first post') {
        const changes = (result as Awaited<ReturnType<TriageBatch['execute']>>).changes as PendingChange[];
        const routed = await measure(() => groups.add(groupChanges(config.routes, changes), new Date()));
        rows.push([
          'route (group update)',
          `${Math.round(routed.ms)} ms`,
          formatRate(changes.length, routed.ms),
          (routed.commands / changes.length).toFixed(2),
          `${(routed.result as unknown[]).length} group`,
        ]);
      }
    }
    return [
      `Triage: ${FINDINGS.toLocaleString('en-US')}-vulnerability Trivy report, use case against Redis (${batch.findings.length} findings parsed)`,
      ['step', 'time', 'findings/s', 'redis cmds/finding', 'result'].join(' | '),
      ...rows.map((row) => row.join(' | ')),
    ];
  } finally {
    await redis.quit();
    await probe.quit();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
