import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../apps/klaxon/src/cli';
import { APP_ID, GitHubEmulator, INSTALLATION_ID } from '../emulators/github.emulator';
import { API_TOKEN, startTestKlaxon, type TestKlaxon } from '../support/klaxon';

const scan = readFileSync(resolve(__dirname, '../fixtures/trivy/image-checkout.json'), 'utf8');
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

/** The real scan of shop/checkout narrowed to a fixable critical (libexpat1) and an unfixable one (zlib1g). */
function fixableCritical(): string {
  const doc = JSON.parse(scan) as { Results: { Type: string; Vulnerabilities?: { VulnerabilityID: string; PkgName: string }[] | null }[] };
  const os = doc.Results.find((r) => r.Type === 'debian')!;
  const keep = ['CVE-2024-45490 libexpat1', 'CVE-2023-45853 zlib1g'];
  os.Vulnerabilities = (os.Vulnerabilities ?? []).filter((v) => keep.includes(`${v.VulnerabilityID} ${v.PkgName}`));
  expect(os.Vulnerabilities).toHaveLength(2);
  doc.Results = [{ ...os, Misconfigurations: null, Secrets: null } as (typeof doc.Results)[number]];
  return JSON.stringify(doc);
}

interface GateAnswer {
  pass: boolean;
  reasons: string[];
  check?: { published: boolean; destination: string; id?: number; error?: string };
}

describe('the CI gate publishes its verdict as the "Klaxon gate" check run on the commit', () => {
  let gh: GitHubEmulator;
  let klaxon: TestKlaxon;
  const report = fixableCritical();

  beforeAll(async () => {
    gh = await GitHubEmulator.start();
    klaxon = await startTestKlaxon(`
destinations:
  gh-pr:
    type: github
    appId: "${APP_ID}"
    privateKey: ${JSON.stringify(gh.appPrivateKey)}
    installationId: "${INSTALLATION_ID}"
    baseUrl: ${gh.url}
    checkRuns: true
routes:
  to: []
gate:
  failOn: ["fixable = true", "severity >= high"]
`);
  });
  afterAll(async () => {
    await klaxon?.close();
    await gh?.stop();
  });

  const gate = async (query: string) => {
    const res = await klaxon.api(`/v1/gate?format=trivy&${query}`, { method: 'POST', body: report, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    return (await res.json()) as GateAnswer;
  };
  const gateRuns = () => gh.checkRuns.filter((r) => r.name === 'Klaxon gate');

  it('a failing gate creates one check run with conclusion failure and the reasons as a table', async () => {
    const answer = await gate(`repo=acme/checkout&pr=42&commit=${COMMIT}`);
    expect(answer.pass).toBe(false);
    expect(answer.check).toEqual({ published: true, destination: 'gh-pr', id: expect.any(Number) });

    expect(gateRuns()).toHaveLength(1);
    const run = gateRuns()[0]!;
    expect(run).toMatchObject({ id: answer.check!.id, owner: 'acme', repo: 'checkout', head_sha: COMMIT, status: 'completed', conclusion: 'failure' });
    expect(run.output!.title).toBe('FAIL: 1 of 2 findings fail the gate');
    const summary = run.output!.summary!;
    expect(summary).toContain('| Verdict | Severity | Reason |');
    expect(summary).toMatch(
      /^\| FAIL \| critical \| CVE-2024-45490 \(critical\) in libexpat1 2\.5\.0-1 → 2\.5\.0-1\+deb12u1: .*apt-get install -y --only-upgrade libexpat1/m,
    );
    expect(summary).toMatch(/^\| WARN \| critical \| CVE-2023-45853 \(critical\) in zlib1g .*no fix is available yet \|$/m);
  });

  it('a re-run after an exception updates the same check run to success', async () => {
    const created = await klaxon.api('/v1/exceptions', {
      method: 'POST',
      json: {
        id: 'expat-not-reachable',
        match: ['rule = CVE-2024-45490', 'package = libexpat1'],
        reason: 'XML parsing is not reachable from requests; upgrade planned in APPSEC-231',
        owner: 'team-checkout',
        expires: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    const before = gateRuns()[0]!;

    const answer = await gate(`repo=acme/checkout&pr=42&commit=${COMMIT}`);
    expect(answer.pass).toBe(true);
    expect(answer.check).toEqual({ published: true, destination: 'gh-pr', id: before.id });

    expect(gateRuns()).toHaveLength(1);
    const run = gateRuns()[0]!;
    expect(run).toMatchObject({ id: before.id, conclusion: 'success', updates: 1 });
    expect(run.output!.title).toBe('pass: 2 findings, none failing, 1 excepted, 1 warnings');
    expect(run.output!.summary).toMatch(/^\| EXCEPTED \| critical \| CVE-2024-45490 .*excepted by "expat-not-reachable"/m);
    expect(run.output!.summary).toContain('- `expat-not-reachable` (team-checkout, expires');
  });

  it('keeps its answer when GitHub refuses the check run, and says why in `check`', async () => {
    // acme/payments is not a repository the installation can reach: GitHub answers 404.
    const answer = await gate(`repo=acme/payments&commit=${COMMIT}`);
    expect(answer.pass).toBe(true);
    expect(answer.check).toMatchObject({ published: false, destination: 'gh-pr', error: expect.stringMatching(/^github: HTTP 404/) });
    expect(gh.checkRuns.filter((r) => r.repo === 'payments')).toHaveLength(0);
  });

  it('publishes nothing without a commit in the context', async () => {
    const runs = gh.checkRuns.length;
    const answer = await gate('repo=acme/checkout&pr=42');
    expect(answer.check).toBeUndefined();
    expect(gh.checkRuns).toHaveLength(runs);
  });

  it('the CLI says whether the check run was published', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'klaxon-gate-')), 'trivy.json');
    writeFileSync(file, report);
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) } as unknown as Console;
    const args = ['gate', '--report', file, '--server', klaxon.url, '--token', API_TOKEN, '--commit', COMMIT];
    expect(await main([...args, '--repo', 'acme/checkout'], out)).toBe(0);
    expect(lines.join('\n')).toContain('GitHub check run published (gh-pr).');
    lines.length = 0;
    expect(await main([...args, '--repo', 'acme/payments'], out)).toBe(0);
    expect(lines.join('\n')).toMatch(/GitHub check run not published \(gh-pr\): github: HTTP 404/);
  });
});
