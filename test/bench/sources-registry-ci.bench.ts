import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parserFor, type SourceMeta } from '@klaxon/sources';

/**
 * Parse throughput of the registry and CI formats: each parser on a document in its real shape, scaled
 * from the fixtures in test/fixtures/ (5,000 items for reports, single events for webhooks). Pure
 * parsing, no Redis: what one `ingest` job spends turning the raw body into a Batch.
 */
const ITEMS = 5_000;
const fixture = (dir: string, name: string) => readFileSync(resolve(__dirname, '../fixtures', dir, name), 'utf8');
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

/** `count` copies of `items`, each with a distinct id so that nothing collapses. */
function scaled<T>(items: T[], count: number, vary: (item: T, i: number) => T): T[] {
  return Array.from({ length: count }, (_, i) => vary(structuredClone(items[i % items.length]!), i));
}

function harborReport(): string {
  const doc = JSON.parse(fixture('harbor', 'report-checkout.json'));
  const report = doc['application/vnd.security.vulnerability.report; version=1.1'];
  report.vulnerabilities = scaled(report.vulnerabilities, ITEMS, (v: { id: string; package: string }, i) => ({
    ...v,
    id: `CVE-2024-${10000 + i}`,
    package: `${v.package}-${i % 700}`,
  }));
  return JSON.stringify(doc);
}

function grypeReport(): string {
  const doc = JSON.parse(fixture('grype', 'image-checkout.grype.json'));
  doc.matches = scaled(doc.matches, ITEMS, (m: { vulnerability: { id: string }; relatedVulnerabilities: unknown[]; artifact: { name: string } }, i) => {
    m.vulnerability.id = `CVE-2024-${10000 + i}`;
    m.relatedVulnerabilities = [];
    m.artifact.name = `${m.artifact.name}-${i % 700}`;
    return m;
  });
  return JSON.stringify(doc);
}

function sarifReport(name: string): string {
  const doc = JSON.parse(fixture('sarif', name));
  const run = doc.runs[0];
  run.results = scaled(
    run.results.filter((r: { suppressions?: unknown }) => !r.suppressions),
    ITEMS,
    (r: { locations?: { physicalLocation: { region: { startLine: number } } }[]; partialFingerprints?: Record<string, string> }, i) => {
      if (r.locations?.[0]) r.locations[0].physicalLocation.region.startLine = i + 1;
      if (r.partialFingerprints) r.partialFingerprints = { primaryLocationLineHash: `${i.toString(16)}:1` };
      return r;
    },
  );
  return JSON.stringify(doc);
}

interface Case {
  name: string;
  format: string;
  raw: string;
  context?: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'harbor-report (5,000 vulns)',
    format: 'harbor-report',
    raw: harborReport(),
    context: { image: 'harbor.example.com/shop/checkout:1.4.2', digest: DIGEST },
  },
  { name: 'grype (5,000 matches)', format: 'grype', raw: grypeReport() },
  { name: 'sarif trivy (5,000 results)', format: 'sarif', raw: sarifReport('trivy-image.sarif.json') },
  { name: 'sarif codeql (5,000 results)', format: 'sarif', raw: sarifReport('codeql-checkout.sarif.json') },
  { name: 'sarif semgrep (5,000 results)', format: 'sarif', raw: sarifReport('semgrep-checkout.sarif.json'), context: { repo: 'acme/checkout' } },
  { name: 'quay vulnerability_found (3 vulns)', format: 'quay', raw: fixture('quay', 'vulnerabilities-found.json') },
  { name: 'harbor SCANNING_COMPLETED webhook', format: 'harbor', raw: fixture('harbor', 'scanning-completed.cloudevents.json') },
  {
    name: 'github code_scanning_alert',
    format: 'github',
    raw: fixture('github', 'code-scanning-alert-created.json'),
    context: { event: 'code_scanning_alert' },
  },
  { name: 'github workflow_run', format: 'github', raw: fixture('github', 'workflow-run-completed.json'), context: { event: 'workflow_run' } },
  { name: 'gitlab pipeline', format: 'gitlab', raw: fixture('gitlab', 'pipeline-hook.json') },
];

/** Repeats a parse for at least `minMs` (after a warm-up) and returns the mean time per parse. */
function time(parse: () => number, minMs = 1_000): { ms: number; items: number } {
  let items = 0;
  for (let i = 0; i < 3; i++) items = parse();
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < minMs || runs < 5) {
    parse();
    runs++;
  }
  return { ms: (performance.now() - started) / runs, items };
}

export async function run(): Promise<string[]> {
  const lines = ['| input | size | findings + assets | ms per parse | findings/s | MB/s |', '| --- | --- | --- | --- | --- | --- |'];
  for (const c of CASES) {
    const parser = parserFor(c.format);
    if (!parser) throw new Error(`no parser for ${c.format}`);
    const meta: SourceMeta = {
      eventId: 'evt_bench',
      receivedAt: '2026-11-23T10:00:00.000Z',
      integration: 'bench',
      context: (c.context ?? {}) as SourceMeta['context'],
    };
    const { ms, items } = time(() => {
      const batch = parser.parse(c.raw, meta);
      return batch.findings.length + batch.assets.length;
    });
    const mb = Buffer.byteLength(c.raw) / 1024 / 1024;
    lines.push(
      `| ${c.name} | ${mb >= 0.1 ? `${mb.toFixed(1)} MB` : `${(mb * 1024).toFixed(1)} KB`} | ${items} | ${ms.toFixed(ms < 1 ? 3 : 1)} | ${Math.round((items / ms) * 1000).toLocaleString('en-US')} | ${(mb / (ms / 1000)).toFixed(1)} |`,
    );
  }
  return lines;
}
