import { WORKLOAD, alertmanagerInstalled, mib, perSec, runAlertmanager, runKlaxon, secs, type Figures } from './versus';
import { median, runCount, spread } from './support';
import { runEngineFloor } from './engine-floor';

/**
 * `npm run bench -- versus`: Alertmanager's workload on Alertmanager (when `prometheus-alertmanager`
 * is installed) and on Klaxon, both tables and Klaxon's ratios to Alertmanager against issue 11's
 * targets. KLAXON_VERSUS_ALERTS changes the number of alerts; KLAXON_VERSUS_RUNS=<n> runs both n times,
 * alternately, and shows each figure's median with its range, and each ratio's median over the runs'
 * own ratios (a machine whose speed drifts moves both sides of one run alike); KLAXON_BENCH_CPU_PROF=<dir>
 * writes a CPU profile of each Klaxon process there. It also prints what BullMQ alone costs for the jobs
 * one pass takes (engine-floor.ts): a floor under Klaxon's CPU for as long as each hop is a job.
 */
export async function run(): Promise<string[]> {
  const w = WORKLOAD;
  const runs = runCount('KLAXON_VERSUS_RUNS');
  const lines = [
    `Workload: ${w.alerts.toLocaleString('en-US')} distinct alerts, ${w.perPost} per POST, ${w.inFlight} POSTs in flight, ` +
      `${w.alerts / 10} groups of 10 (alertname + instance), group wait 0 s, interval 1 s, repeat 1 h, one webhook receiver` +
      (runs > 1 ? `; ${runs} runs of each, alternately: median (lowest–highest)` : ''),
  ];
  const withAm = alertmanagerInstalled();
  if (!withAm) lines.push('prometheus-alertmanager is not installed: Alertmanager skipped, Klaxon alone.');
  const ams: Figures[] = [];
  const kxs: Figures[] = [];
  for (let i = 0; i < runs; i++) {
    if (withAm) ams.push(await runAlertmanager(w));
    // Redis is measured (with the resends it takes) in the last run only: it does not drift with the machine.
    kxs.push(await runKlaxon(w, undefined, i === runs - 1));
  }
  const row = (name: string, f: (x: Figures[]) => string) => `| ${name} | ${ams.length ? f(ams) : '—'} | ${f(kxs)} |`;
  const perProcess = (figures: Figures[]) =>
    figures[0].processes
      .map(
        (p, i) =>
          `${p.name} ${spread(
            figures.map((x) => x.processes[i].cpuSeconds),
            (s) => `${s.toFixed(1)} s`,
          )} ${spread(
            figures.map((x) => x.processes[i].hwmBytes),
            mib,
          )}`,
      )
      .join(', ');
  lines.push(
    '',
    '| | Alertmanager | Klaxon |',
    '| --- | --- | --- |',
    row(`all ${w.alerts.toLocaleString('en-US')} delivered`, (x) =>
      spread(
        x.map((f) => f.deliveredMs),
        secs,
      ),
    ),
    row('ingest (last POST answered)', (x) =>
      x.length === 1
        ? `${perSec(x[0].alertsPerSecond)} (${secs(x[0].ingestMs)})`
        : `${spread(
            x.map((f) => f.alertsPerSecond),
            perSec,
          )}, the last POST answered at ${secs(median(x.map((f) => f.ingestMs)))}`,
    ),
    row('CPU, all processes', (x) =>
      spread(
        x.map((f) => f.cpuSeconds),
        (s) => `${s.toFixed(1)} s`,
      ),
    ),
    row('peak RSS, all processes', (x) =>
      spread(
        x.map((f) => f.peakRssBytes),
        mib,
      ),
    ),
    row('per process (CPU s, peak RSS)', perProcess),
    row('alerts delivered, duplicates, notifications', (x) => x.map((f) => `${f.delivered}, ${f.duplicates}, ${f.notifications}`).join('; ')),
  );
  const r = kxs[kxs.length - 1].redis!;
  lines.push(
    `| Redis per stored finding | — | ${(r.bytesPerFinding / 1024).toFixed(2)} KB (${r.findings} findings, used_memory ${mib(r.usedMemoryBytes)}) |`,
    `| the same alerts again | — | ${r.resendNotifications} notifications, Redis +${mib(r.resendGrowthBytes)} (${r.resendGrowthPercent.toFixed(1)} %) |`,
    `| refreshed alerts (new endsAt) | — | ${r.refreshNotifications} notifications, Redis +${mib(r.refreshGrowthBytes)} (${r.refreshGrowthPercent.toFixed(1)} %) |`,
  );
  if (ams.length) {
    // Each run's own ratio, Klaxon against the Alertmanager run just before it.
    const ratios = (f: (kx: Figures, am: Figures) => number) => kxs.map((kx, i) => f(kx, ams[i]));
    const ratio = (values: number[], target: string, ok: (median: number) => boolean) =>
      `${spread(values, (k) => `${k.toFixed(2)}×`)} (target ${target}: ${ok(median(values)) ? 'met' : 'not met'})`;
    lines.push(
      '',
      'Klaxon ÷ Alertmanager:',
      `- delivered time ${ratio(
        ratios((kx, am) => kx.deliveredMs / am.deliveredMs),
        '≤ 1.0×',
        (k) => k <= 1,
      )}`,
      `- ingest rate ${ratio(
        ratios((kx, am) => kx.alertsPerSecond / am.alertsPerSecond),
        '≥ 1.0×',
        (k) => k >= 1,
      )}`,
      `- CPU ${ratio(
        ratios((kx, am) => kx.cpuSeconds / am.cpuSeconds),
        '≤ 1.5×',
        (k) => k <= 1.5,
      )}`,
      `- peak RSS ${ratio(
        ratios((kx, am) => kx.peakRssBytes / am.peakRssBytes),
        '≤ 1.5×',
        (k) => k <= 1.5,
      )}`,
    );
  }
  // The queue engine's own share: the same hops with nothing done in them (engine-floor.ts).
  const floor = await runEngineFloor(w);
  const floorCpu = floor.clientCpuSeconds + floor.redisCpuSeconds;
  const amCpu = ams.length ? median(ams.map((a) => a.cpuSeconds)) : undefined;
  lines.push(
    `- the queue engine alone, the hops of one pass with nothing done in them (${floor.jobsProcessed.toLocaleString('en-US')} BullMQ jobs ` +
      `processed, ${floor.timersArmed.toLocaleString('en-US')} repeat timers armed, ${(floor.deliverJobBytes / 1024).toFixed(1)} KB a delivery): ` +
      `${floorCpu.toFixed(1)} s CPU (client ${floor.clientCpuSeconds.toFixed(1)} s, redis-server ${floor.redisCpuSeconds.toFixed(1)} s)` +
      (amCpu ? `, ${(floorCpu / amCpu).toFixed(2)}× Alertmanager's CPU for the whole workload` : ''),
  );
  lines.push(
    `- Redis per finding ${(r.bytesPerFinding / 1024).toFixed(2)} KB (target ≤ 3 KB: ${r.bytesPerFinding <= 3072 ? 'met' : 'not met'}); ` +
      `resend growth ${r.resendGrowthPercent.toFixed(1)} % / refreshed ${r.refreshGrowthPercent.toFixed(1)} % (target ≤ 5 %)`,
    '',
    `Redis after the first pass${runs > 1 ? ' of the last run' : ''} (before the resends), by key family (bytes, keys):`,
    ...r.families.slice(0, 20).map(([family, bytes, count]) => `  ${family}: ${mib(bytes)} ${(bytes / 1024).toFixed(0)} KB, ${count} keys`),
    'Redis commandstats of that pass (calls, ms), by time:',
    ...r.commandstats.slice(0, 14).map(([cmd, calls, usec]) => `  ${cmd}: ${calls} calls, ${(usec / 1000).toFixed(0)} ms`),
  );
  return lines;
}
