import { WORKLOAD, alertmanagerInstalled, mib, perSec, runAlertmanager, runKlaxon, secs, type Figures } from './versus';

/**
 * `npm run bench -- versus`: Alertmanager's workload on Alertmanager (when `prometheus-alertmanager`
 * is installed) and on Klaxon, both tables and Klaxon's ratios to Alertmanager against issue 11's
 * targets. KLAXON_VERSUS_ALERTS changes the number of alerts; KLAXON_BENCH_CPU_PROF=<dir> writes a
 * CPU profile of each Klaxon process there.
 */
export async function run(): Promise<string[]> {
  const w = WORKLOAD;
  const lines = [
    `Workload: ${w.alerts.toLocaleString('en-US')} distinct alerts, ${w.perPost} per POST, ${w.inFlight} POSTs in flight, ` +
      `${w.alerts / 10} groups of 10 (alertname + instance), group wait 0 s, interval 1 s, repeat 1 h, one webhook receiver`,
  ];
  let am: Figures | undefined;
  if (alertmanagerInstalled()) am = await runAlertmanager(w);
  else lines.push('prometheus-alertmanager is not installed: Alertmanager skipped, Klaxon alone.');
  const kx = await runKlaxon(w);
  const row = (name: string, f: (x: Figures) => string) => `| ${name} | ${am ? f(am) : '—'} | ${f(kx)} |`;
  lines.push(
    '',
    '| | Alertmanager | Klaxon |',
    '| --- | --- | --- |',
    row(`all ${w.alerts.toLocaleString('en-US')} delivered`, (x) => secs(x.deliveredMs)),
    row('ingest (last POST answered)', (x) => `${perSec(x.alertsPerSecond)} (${secs(x.ingestMs)})`),
    row('CPU, all processes', (x) => `${x.cpuSeconds.toFixed(1)} s`),
    row('peak RSS, all processes', (x) => mib(x.peakRssBytes)),
    row('per process (CPU s, peak RSS)', (x) => x.processes.map((p) => `${p.name} ${p.cpuSeconds.toFixed(1)} s ${mib(p.hwmBytes)}`).join(', ')),
    row('alerts delivered, duplicates, notifications', (x) => `${x.delivered}, ${x.duplicates}, ${x.notifications}`),
  );
  const r = kx.redis!;
  lines.push(
    `| Redis per stored finding | — | ${(r.bytesPerFinding / 1024).toFixed(2)} KB (${r.findings} findings, used_memory ${mib(r.usedMemoryBytes)}) |`,
    `| the same alerts again | — | ${r.resendNotifications} notifications, Redis +${mib(r.resendGrowthBytes)} (${r.resendGrowthPercent.toFixed(1)} %) |`,
    `| refreshed alerts (new endsAt) | — | ${r.refreshNotifications} notifications, Redis +${mib(r.refreshGrowthBytes)} (${r.refreshGrowthPercent.toFixed(1)} %) |`,
  );
  if (am) {
    const ratio = (k: number, target: string, ok: boolean) => `${k.toFixed(2)}× (target ${target}: ${ok ? 'met' : 'not met'})`;
    const delivered = kx.deliveredMs / am.deliveredMs;
    const ingest = kx.alertsPerSecond / am.alertsPerSecond;
    const cpu = kx.cpuSeconds / am.cpuSeconds;
    const rss = kx.peakRssBytes / am.peakRssBytes;
    lines.push(
      '',
      'Klaxon ÷ Alertmanager:',
      `- delivered time ${ratio(delivered, '≤ 1.0×', delivered <= 1)}`,
      `- ingest rate ${ratio(ingest, '≥ 1.0×', ingest >= 1)}`,
      `- CPU ${ratio(cpu, '≤ 1.5×', cpu <= 1.5)}`,
      `- peak RSS ${ratio(rss, '≤ 1.5×', rss <= 1.5)}`,
    );
  }
  lines.push(
    `- Redis per finding ${(r.bytesPerFinding / 1024).toFixed(2)} KB (target ≤ 3 KB: ${r.bytesPerFinding <= 3072 ? 'met' : 'not met'}); ` +
      `resend growth ${r.resendGrowthPercent.toFixed(1)} % / refreshed ${r.refreshGrowthPercent.toFixed(1)} % (target ≤ 5 %)`,
    '',
    'Redis after the first run, by key family (bytes, keys):',
    ...r.families.slice(0, 20).map(([family, bytes, count]) => `  ${family}: ${mib(bytes)} ${(bytes / 1024).toFixed(0)} KB, ${count} keys`),
    'Redis commandstats of the first run (calls, ms), by time:',
    ...r.commandstats.slice(0, 14).map(([cmd, calls, usec]) => `  ${cmd}: ${calls} calls, ${(usec / 1000).toFixed(0)} ms`),
  );
  return lines;
}
