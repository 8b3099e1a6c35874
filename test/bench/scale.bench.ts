import { WORKLOAD, mib, perSec, secs, runKlaxon, type Figures, type Topology } from './versus';

/**
 * `npm run bench -- scale`: the versus workload (Alertmanager alerts, see versus.ts) on Klaxon split
 * into one process per app on one Redis: a gateway with one pipeline and one notifier, then with two
 * of each. Every alert must reach the receiver once (0 duplicates: no notification id twice, no
 * finding told new twice); throughput is alerts delivered per second from the first POST.
 */
export async function run(): Promise<string[]> {
  const w = WORKLOAD;
  const setups: [string, Topology][] = [
    [
      '1 pipeline + 1 notifier',
      [
        { app: 'gateway', count: 1 },
        { app: 'pipeline', count: 1 },
        { app: 'notifier', count: 1 },
      ],
    ],
    [
      '2 pipelines + 2 notifiers',
      [
        { app: 'gateway', count: 1 },
        { app: 'pipeline', count: 2 },
        { app: 'notifier', count: 2 },
      ],
    ],
  ];
  const results: [string, Figures][] = [];
  for (const [name, topology] of setups) results.push([name, await runKlaxon(w, topology, false)]);
  const [, one] = results[0];
  const lines = [
    `Workload: ${w.alerts.toLocaleString('en-US')} distinct Alertmanager alerts, ${w.perPost} per POST, ${w.inFlight} in flight, groups of 10, ` +
      'one webhook receiver; one gateway process, pipeline and notifier processes on one Redis',
    '',
    '| setup | all delivered | delivered/s | × one | ingest (last POST answered) | alerts delivered | duplicates | CPU, all processes | peak RSS, all processes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      ([name, f]) =>
        `| ${name} | ${secs(f.deliveredMs)} | ${Math.round((f.delivered / f.deliveredMs) * 1000)} | ${(one.deliveredMs / f.deliveredMs).toFixed(2)}× | ` +
        `${perSec(f.alertsPerSecond)} (${secs(f.ingestMs)}) | ` +
        `${f.delivered} | ${f.duplicates} | ${f.cpuSeconds.toFixed(1)} s | ${mib(f.peakRssBytes)} |`,
    ),
    '',
    ...results.map(([name, f]) => `${name}: ${f.processes.map((p) => `${p.name} ${p.cpuSeconds.toFixed(1)} s ${mib(p.hwmBytes)}`).join(', ')}`),
  ];
  const duplicates = results.reduce((sum, [, f]) => sum + f.duplicates, 0);
  if (duplicates > 0) lines.push(`DUPLICATES: ${duplicates} alerts or notifications reached the receiver more than once`);
  return lines;
}
