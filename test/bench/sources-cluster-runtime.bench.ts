import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parserFor, type SourceMeta } from '@klaxon/sources';
import { formatRate } from './support';

const fixture = (dir: string, name: string) => readFileSync(resolve(__dirname, '../fixtures', dir, name), 'utf8');
const json = (dir: string, name: string) => JSON.parse(fixture(dir, name));
const SIZE = 5_000;
const meta: SourceMeta = {
  eventId: 'evt-bench',
  receivedAt: '2026-11-23T10:00:00.000Z',
  integration: 'bench',
  context: { cluster: 'prod-eu-1' } as SourceMeta['context'],
};

/** `count` copies of the fixture's items, each made distinct so none collapse into one finding. */
const spread = <T>(items: T[], count: number, vary: (item: T, i: number) => T): T[] =>
  Array.from({ length: count }, (_, i) => vary(structuredClone(items[i % items.length]), i));

function inputs(): { format: string; label: string; raw: string }[] {
  const report = json('policyreport', 'kyverno-v1alpha2-prod-shop.json');
  report.results = spread(
    report.results.filter((r: any) => r.result === 'fail'),
    SIZE,
    (r: any, i) => ({ ...r, policy: `${r.policy}-${i}` }),
  );

  const vulns = json('trivy-operator', 'vulnerabilityreport-checkout.json');
  vulns.report.vulnerabilities = spread(vulns.report.vulnerabilities, SIZE, (v: any, i) => ({ ...v, vulnerabilityID: `CVE-2026-${10000 + i}` }));

  const audit = json('trivy-operator', 'configauditreport-checkout.json');
  audit.report.checks = spread(audit.report.checks, SIZE, (c: any, i) => ({ ...c, checkID: `KSV${i}`, success: false }));

  const bench = json('kube-bench', 'master.json');
  const group = bench.Controls[0].tests[0];
  group.results = spread(
    bench.Controls[0].tests.flatMap((t: any) => t.results),
    SIZE,
    (c: any, i) => ({ ...c, test_number: `9.${i}`, status: i % 2 ? 'FAIL' : 'WARN' }),
  );
  bench.Controls[0].tests = [group];

  const pod = json('kubernetes', 'pod-checkout.json');
  const pods = {
    apiVersion: 'v1',
    kind: 'List',
    items: spread([pod], SIZE, (p: any, i) => ({ ...p, metadata: { ...p.metadata, name: `checkout-7d9c5b6f4-${i}` } })),
  };

  const falcoLines = fixture('falco', 'events-prod-shop.ndjson')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const falco = spread(falcoLines, SIZE, (e: any, i) => ({ ...e, rule: `${e.rule} ${i}` }))
    .map((e) => JSON.stringify(e))
    .join('\n');

  const tetragonLines = fixture('tetragon', 'events-prod-shop.ndjson')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.process_exec || e.process_kprobe);
  const tetragon = spread(tetragonLines, SIZE, (e: any) => e)
    .map((e) => JSON.stringify(e))
    .join('\n');

  const am = json('alertmanager', 'firing.json');
  am.alerts = spread(
    am.alerts.filter((a: any) => a.status === 'firing'),
    SIZE,
    (a: any, i) => ({ ...a, labels: { ...a.labels, alertname: `${a.labels.alertname}${i}` }, fingerprint: i.toString(16) }),
  );

  return [
    { format: 'policyreport', label: `PolicyReport, ${SIZE} fail results`, raw: JSON.stringify(report) },
    { format: 'trivy-operator', label: `VulnerabilityReport, ${SIZE} vulnerabilities`, raw: JSON.stringify(vulns) },
    { format: 'trivy-operator', label: `ConfigAuditReport, ${SIZE} failed checks`, raw: JSON.stringify(audit) },
    { format: 'kube-bench', label: `kube-bench, ${SIZE} FAIL/WARN checks`, raw: JSON.stringify(bench) },
    { format: 'kubernetes', label: `Pod List, ${SIZE} pods (assets)`, raw: JSON.stringify(pods) },
    { format: 'falco', label: `Falco, ${SIZE} events (NDJSON)`, raw: falco },
    { format: 'tetragon', label: `Tetragon, ${SIZE} exec/kprobe events`, raw: tetragon },
    { format: 'stackrox', label: 'StackRox, 1 alert per payload', raw: fixture('stackrox', 'runtime-alert.json') },
    { format: 'alertmanager', label: `Alertmanager, ${SIZE} firing alerts`, raw: JSON.stringify(am) },
  ];
}

/** Parse throughput per format: each input parsed repeatedly for ~1 s after a warm-up. */
export async function run(): Promise<string[]> {
  const rows: string[] = [];
  for (const { format, label, raw } of inputs()) {
    const parser = parserFor(format)!;
    const warm = parser.parse(raw, meta);
    const items = warm.findings.length || warm.assets.length;
    let rounds = 0;
    const started = performance.now();
    while (performance.now() - started < 1_000 || rounds < 3) {
      parser.parse(raw, meta);
      rounds++;
    }
    const ms = (performance.now() - started) / rounds;
    const unit = warm.findings.length ? 'findings' : 'assets';
    rows.push([format, label, `${(raw.length / 1024 / 1024).toFixed(1)} MB`, `${ms.toFixed(1)} ms/parse`, `${formatRate(items, ms)} ${unit}`].join(' | '));
  }
  return ['Parse throughput, cluster and runtime sources (pure parse, no Redis)', 'format | input | size | time | throughput', ...rows];
}
