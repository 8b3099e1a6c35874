import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import IORedis from 'ioredis';
import { createLogger, parseConfig, startEmbeddedRedis } from '@klaxon/platform';
import { IgnoredInput, ParseError, PARSERS, type SourceMeta } from '@klaxon/sources';
import { startKlaxon } from '../../apps/klaxon/src/klaxon';
import { fixturesOf, hostileFrom } from '../support/hostile';
import { fuzzSourcesYaml, hostileRequest } from '../support/hostile-http';

const PARSER_RUNS = Number(process.env.FUZZ_BENCH_PARSER_RUNS ?? 1_500);
const HTTP_RUNS = Number(process.env.FUZZ_BENCH_HTTP_RUNS ?? 3_000);
const SAMPLES = 6;
const TOKEN = 'fuzz-bench-token';
const meta: SourceMeta = { eventId: 'fuzz', receivedAt: '2026-01-01T00:00:00.000Z', integration: 'fuzz', context: { repo: 'acme/shop' } };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** Heap in use after a full collection: what the process still holds, not garbage waiting for the collector. */
function liveHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * `npm run bench -- fuzz`: the fuzz cases of the parser and HTTP intake tests, many times more of them,
 * with memory watched as they run. Every parser takes PARSER_RUNS hostile mutations of its fixtures;
 * then the whole app, on a private redis-server, takes HTTP_RUNS hostile requests. After each slice the
 * live heap (after a full GC), the peak RSS and Redis's used_memory are read: a bounded intake holds
 * them level however many hostile inputs it has refused; accepted inputs are stored and may grow Redis.
 */
export async function run(): Promise<string[]> {
  const lines: string[] = [];
  const heapBefore = liveHeap();
  let parserCases = 0;
  let parserHeapMax = heapBefore;
  const unexpected: string[] = [];
  for (const parser of PARSERS) {
    fc.assert(
      fc.property(hostileFrom(fixturesOf(parser.format)), (raw) => {
        parserCases++;
        try {
          parser.parse(raw, meta);
        } catch (err) {
          if (!(err instanceof ParseError || err instanceof IgnoredInput)) unexpected.push(`${parser.format}: ${(err as Error).message.slice(0, 120)}`);
        }
      }),
      { numRuns: PARSER_RUNS, seed: 0x6b6c78 },
    );
    parserHeapMax = Math.max(parserHeapMax, liveHeap());
  }
  lines.push(
    `parsers: ${PARSERS.length} × ${PARSER_RUNS} = ${parserCases.toLocaleString('en-US')} hostile cases, ${unexpected.length} untyped errors;` +
      ` live heap ${MB(heapBefore)} before, at most ${MB(parserHeapMax)} after any parser`,
  );
  unexpected.slice(0, 5).forEach((u) => lines.push(`  untyped: ${u}`));

  const dir = mkdtempSync(join(tmpdir(), 'klaxon-fuzz-bench-'));
  const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
  const probe = new IORedis(redisServer.url);
  const config = parseConfig(
    `auth:\n  apiToken: \${KLAXON_API_TOKEN}\nserver:\n  intakeRateLimit: { perMinute: 100000000 }\nsources:\n${fuzzSourcesYaml()}\nroutes: {}\n`,
    {
      KLAXON_API_TOKEN: TOKEN,
    },
  );
  const klaxon = await startKlaxon({ config, redisUrl: redisServer.url, port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) });
  const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await probe.info('memory'))![1]);
  try {
    const statuses = new Map<number, number>();
    lines.push('', '| HTTP cases | live heap | RSS | Redis used_memory | accepted so far |', '| ---: | ---: | ---: | ---: | ---: |');
    const slice = Math.ceil(HTTP_RUNS / SAMPLES);
    let done = 0;
    for (let s = 0; s < SAMPLES && done < HTTP_RUNS; s++) {
      const n = Math.min(slice, HTTP_RUNS - done);
      // Four in flight, as senders do; fast-check's samples are generated a slice at a time.
      const requests = fc.sample(hostileRequest(TOKEN), { numRuns: n, seed: 0x6b6c78 + s });
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < requests.length) {
            const { path, init } = requests[next++];
            const res = await fetch(`${klaxon.url}${path}`, init);
            await res.arrayBuffer();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }),
      );
      done += n;
      const accepted = [...statuses].filter(([code]) => code < 300).reduce((sum, [, c]) => sum + c, 0);
      lines.push(`| ${done.toLocaleString('en-US')} | ${MB(liveHeap())} | ${MB(process.memoryUsage().rss)} | ${MB(await usedMemory())} | ${accepted} |`);
    }
    const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([code, c]) => `${code}×${c}`);
    lines.push('', `statuses: ${byStatus.join(', ')}; 5xx: ${[...statuses].filter(([code]) => code >= 500).reduce((sum, [, c]) => sum + c, 0)}`);
    return lines;
  } finally {
    await klaxon.close();
    await probe.quit();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
