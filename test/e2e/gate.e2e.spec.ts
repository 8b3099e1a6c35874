import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exceptionSchema } from '@klaxon/platform';
import { main } from '../../apps/klaxon/src/cli';
import { API_TOKEN, startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = readFileSync(resolve(__dirname, '../fixtures/trivy/image-checkout.json'), 'utf8');
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

type Vuln = { VulnerabilityID: string; PkgName: string };
type Report = { Results: { Type: string; Vulnerabilities?: Vuln[] | null; Misconfigurations?: unknown[] | null; Secrets?: unknown[] | null }[] };

/** The real scan of shop/checkout narrowed to the named vulnerabilities of its Debian layer. */
function reportWith(...ids: [cve: string, pkg: string][]): string {
  const doc = JSON.parse(fixture) as Report;
  const os = doc.Results.find((r) => r.Type === 'debian')!;
  os.Vulnerabilities = (os.Vulnerabilities ?? []).filter((v) => ids.some(([cve, pkg]) => v.VulnerabilityID === cve && v.PkgName === pkg));
  expect(os.Vulnerabilities).toHaveLength(ids.length);
  doc.Results = [{ ...os, Misconfigurations: null, Secrets: null }];
  return JSON.stringify(doc);
}

// CVE-2024-45490 in libexpat1: critical, fixed in 2.5.0-1+deb12u1. CVE-2023-45853 in zlib1g: critical, will_not_fix.
const fixableCritical = reportWith(['CVE-2024-45490', 'libexpat1'], ['CVE-2023-45853', 'zlib1g']);
const unfixableOnly = reportWith(['CVE-2023-45853', 'zlib1g'], ['CVE-2023-52425', 'libexpat1']);

interface GateAnswer {
  pass: boolean;
  reasons: string[];
  findings: {
    verdict: string;
    rule: string;
    severity: string;
    package?: { name: string; installed?: string; fixed?: string };
    fix?: string;
    reason: string;
    exception?: { id: string; expires?: string };
  }[];
  exceptions: { id: string; owner: string; expires?: string; findings: number }[];
  summary: { total: number; failed: number; warned: number; excepted: number };
}

function capture() {
  const lines: string[] = [];
  const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) } as unknown as Console;
  return { out, text: () => lines.join('\n') };
}

describe('the CI gate', () => {
  let klaxon: TestKlaxon;
  let now = new Date('2025-01-10T12:00:00Z');
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-gate-'));
  const file = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };

  beforeAll(async () => {
    klaxon = await startTestKlaxon(
      `
routes:
  to: []
gate:
  failOn: ["fixable = true", "severity >= high"]
`,
      {
        clock: () => now,
        exceptions: [
          exceptionSchema.parse({
            id: 'expat-in-review',
            match: ['rule = CVE-2024-45490', 'package = libexpat1'],
            reason: 'XML parsing is not reachable from requests; upgrade planned in APPSEC-231',
            owner: 'team-checkout',
            expires: '2025-02-01T00:00:00Z',
          }),
        ],
      },
    );
  });
  afterAll(async () => {
    await klaxon?.close();
  });

  const gate = async (body: string, query = 'format=trivy&repo=acme/checkout&branch=feature/x&pr=42') => {
    const res = await klaxon.api(`/v1/gate?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    return (await res.json()) as GateAnswer;
  };

  it('fails a report with a fixable critical, saying what to upgrade and how', async () => {
    now = new Date('2025-03-01T00:00:00Z');
    const answer = await gate(fixableCritical);
    expect(answer.pass).toBe(false);
    expect(answer.summary).toEqual({ total: 2, failed: 1, warned: 1, excepted: 0 });
    const failing = answer.findings.find((f) => f.verdict === 'fail')!;
    expect(failing).toMatchObject({
      rule: 'CVE-2024-45490',
      severity: 'critical',
      package: { name: 'libexpat1', installed: '2.5.0-1', fixed: '2.5.0-1+deb12u1' },
    });
    expect(failing.fix).toContain('apt-get install -y --only-upgrade libexpat1');
    expect(answer.reasons[0]).toMatch(/^FAIL CVE-2024-45490 \(critical\) in libexpat1 2\.5\.0-1 → 2\.5\.0-1\+deb12u1: rebuild on a patched base image/);
    // The exception exists but has expired by now: it is named, and does not help.
    expect(answer.reasons[0]).toContain('exception "expat-in-review" expired 2025-02-01T00:00:00.000Z');
    expect(answer.findings.find((f) => f.verdict === 'warn')).toMatchObject({
      rule: 'CVE-2023-45853',
      reason: expect.stringContaining('no fix is available yet'),
    });
  });

  it('passes the same report while an exception covers the finding, and names the exception with its expiry', async () => {
    now = new Date('2025-01-10T12:00:00Z');
    const answer = await gate(fixableCritical);
    expect(answer.pass).toBe(true);
    expect(answer.summary).toMatchObject({ failed: 0, excepted: 1, warned: 1 });
    expect(answer.exceptions).toEqual([
      {
        id: 'expat-in-review',
        owner: 'team-checkout',
        reason: expect.stringContaining('APPSEC-231'),
        expires: '2025-02-01T00:00:00.000Z',
        permanent: false,
        findings: 1,
      },
    ]);
    expect(answer.findings.find((f) => f.rule === 'CVE-2024-45490')).toMatchObject({
      verdict: 'excepted',
      exception: { id: 'expat-in-review', expires: '2025-02-01T00:00:00.000Z' },
    });
    expect(answer.reasons).toContainEqual(
      expect.stringMatching(/^EXCEPTED CVE-2024-45490 .*excepted by "expat-in-review" \(team-checkout, until 2025-02-01T00:00:00\.000Z\)/),
    );
  });

  it('fails it again once the exception has expired', async () => {
    now = new Date('2025-02-01T00:00:00Z');
    const answer = await gate(fixableCritical);
    expect(answer.pass).toBe(false);
    expect(answer.exceptions).toEqual([]);
    expect(answer.findings.find((f) => f.rule === 'CVE-2024-45490')?.verdict).toBe('fail');
  });

  it('passes an unfixable-only report with warnings', async () => {
    const answer = await gate(unfixableOnly);
    expect(answer.pass).toBe(true);
    expect(answer.summary).toEqual({ total: 2, failed: 0, warned: 2, excepted: 0 });
    expect(answer.reasons[0]).toBe('pass: nothing in 2 findings fails the gate, 2 warnings');
    expect(answer.reasons.slice(1)).toEqual([
      expect.stringMatching(/^WARN CVE-2023-45853 \(critical\) in zlib1g 1:1\.2\.13\.dfsg-1 → no fix yet: no fix is available yet/),
      expect.stringMatching(/^WARN CVE-2023-52425 \(high\) in libexpat1 2\.5\.0-1 → no fix yet/),
    ]);
  });

  it('explains fixes per ecosystem on the full image scan', async () => {
    const answer = await gate(fixture);
    expect(answer.pass).toBe(false);
    const fix = (rule: string, pkg: string) => answer.findings.find((f) => f.rule === rule && f.package?.name === pkg)?.fix;
    expect(fix('CVE-2024-45590', 'body-parser')).toBe('npm install body-parser@1.20.3 (or an override in package.json)');
    expect(fix('CVE-2024-45337', 'golang.org/x/crypto')).toBe('go get golang.org/x/crypto@v0.31.0 && go mod tidy, then rebuild');
    expect(answer.findings.filter((f) => f.verdict === 'fail').every((f) => f.severity === 'critical' || f.severity === 'high')).toBe(true);
  });

  it('judges a digest Klaxon already knows from an earlier upload', async () => {
    now = new Date('2025-03-01T00:00:00Z');
    const upload = await klaxon.api('/v1/reports?format=trivy&repo=acme/checkout&pr=42', {
      method: 'POST',
      body: fixableCritical,
      headers: { 'content-type': 'application/json' },
    });
    const { eventId } = (await upload.json()) as { eventId: string };
    await waitFor(async () => ((await (await klaxon.api(`/v1/events/${eventId}`)).json()) as { status: string }).status === 'triaged' || undefined, 'triage');
    const answer = await gate('', `digest=${DIGEST}`);
    expect(answer.pass).toBe(false);
    expect(answer.findings.map((f) => `${f.verdict} ${f.rule}`).sort()).toEqual(['fail CVE-2024-45490', 'warn CVE-2023-45853']);
    const unknown = await klaxon.api(`/v1/gate?digest=sha256:${'0'.repeat(64)}`, { method: 'POST' });
    expect(unknown.status).toBe(404);
  });

  it.each([
    [
      'a report that does not parse',
      'format=trivy',
      '{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [{"PkgName": "a"}]}]}',
      422,
      'Results[0].Vulnerabilities[0].VulnerabilityID',
    ],
    ['a bad pull request number', 'format=trivy&pr=abc', fixableCritical, 400, 'pr'],
    ['an unknown format', 'format=nessus', fixableCritical, 400, 'format'],
    ['neither a report nor a digest', 'repo=acme/checkout', '', 400, 'body'],
  ])('answers %s with an error naming the field', async (_name, query, body, status, field) => {
    const res = await klaxon.api(`/v1/gate?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { field: string }).field).toBe(field);
  });

  describe('klaxon gate (CLI)', () => {
    const run = async (...args: string[]) => {
      const { out, text } = capture();
      const code = await main(['gate', ...args], out);
      return { code, text: text() };
    };

    it('exits 1 on a failing report and prints a table with the fix', async () => {
      now = new Date('2025-03-01T00:00:00Z');
      const { code, text } = await run(
        '--report',
        file('fail.json', fixableCritical),
        '--server',
        klaxon.url,
        '--token',
        API_TOKEN,
        '--repo',
        'acme/checkout',
        '--pr',
        '42',
      );
      expect(code).toBe(1);
      expect(text).toContain('klaxon gate: FAIL (2 findings: 1 failing, 0 excepted, 1 warnings)');
      expect(text).toMatch(/FAIL +critical +CVE-2024-45490 +libexpat1 +2\.5\.0-1 → 2\.5\.0-1\+deb12u1/);
      expect(text).toContain('To pass:');
    });

    it('exits 0 when an exception covers it, listing the exception', async () => {
      now = new Date('2025-01-10T12:00:00Z');
      const { code, text } = await run('--report', file('excepted.json', fixableCritical), '--server', klaxon.url, '--token', API_TOKEN);
      expect(code).toBe(0);
      expect(text).toContain('expat-in-review (team-checkout, expires 2025-02-01T00:00:00.000Z)');
    });

    it('exits 0 on an unfixable-only report, with its warnings shown', async () => {
      const { code, text } = await run('--report', file('unfixable.json', unfixableOnly), '--server', klaxon.url, '--token', API_TOKEN, '--format', 'trivy');
      expect(code).toBe(0);
      expect(text).toMatch(/WARN +critical +CVE-2023-45853 +zlib1g/);
    });

    it.each([
      ['a missing --server', ['--report', 'x.json', '--token', 't'], 'klaxon gate: --server (or KLAXON_URL) is required'],
      [
        'a report that cannot be read',
        ['--report', '/nonexistent/trivy.json', '--server', 'http://127.0.0.1:9', '--token', 't'],
        'cannot read /nonexistent/trivy.json: ENOENT',
      ],
      ['a stray argument', ['trivy.json', '--server', 'http://127.0.0.1:9', '--token', 't'], 'unexpected argument "trivy.json"'],
    ])('exits 2 on %s', async (_name, args, message) => {
      const saved = process.env.KLAXON_URL;
      delete process.env.KLAXON_URL;
      try {
        const { code, text } = await run(...args);
        expect(code).toBe(2);
        expect(text).toContain(message);
      } finally {
        if (saved !== undefined) process.env.KLAXON_URL = saved;
      }
    });

    it('exits 2 when the server refuses the token or cannot be reached', async () => {
      const report = file('any.json', fixableCritical);
      const refused = await run('--report', report, '--server', klaxon.url, '--token', 'wrong-token');
      expect(refused.code).toBe(2);
      expect(refused.text).toContain('the server answered 401');
      const unreachable = await run('--report', report, '--server', 'http://127.0.0.1:9', '--token', API_TOKEN);
      expect(unreachable.code).toBe(2);
      expect(unreachable.text).toContain('cannot reach http://127.0.0.1:9');
    });
  });
});
