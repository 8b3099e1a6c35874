import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { ParseError, type SourceMeta } from '../source';
import { trivyParser } from '../trivy/parse';
import { relativePath, sarifParser, severityFromScore } from './parse';

const fixture = (name: string) => fixtureIn('sarif', name);
const SHA = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const meta = (context: SourceMeta['context'] = {}): SourceMeta => ({
  eventId: 'evt_sarif',
  receivedAt: '2024-06-03T09:20:00.000Z',
  integration: 'report',
  context,
});

function parseError(run: () => unknown): ParseError {
  try {
    run();
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error('expected a ParseError');
}

describe('SARIF 2.1.0', () => {
  it.each([
    [9.8, 'critical'],
    [9.0, 'critical'],
    [8.9, 'high'],
    [7.0, 'high'],
    [6.9, 'medium'],
    [4.0, 'medium'],
    [3.9, 'low'],
    [0.1, 'low'],
    [0, 'info'],
  ])('maps security-severity %s to %s', (score, severity) => {
    expect(severityFromScore(score)).toBe(severity);
  });

  describe('CodeQL (rules in an extension, security-severity, partial fingerprints)', () => {
    const batch = sarifParser.parse(fixture('codeql-checkout.sarif.json'), meta({ pr: 42 }));

    it('reads every unsuppressed result as a code finding of the repository and commit', () => {
      expect(batch.findings).toHaveLength(6);
      expect(batch.findings.map((f) => [f.rule.id, f.severity])).toEqual([
        ['js/code-injection', 'critical'],
        ['js/sql-injection', 'high'],
        ['js/sql-injection', 'high'],
        ['js/reflected-xss', 'medium'],
        ['js/weak-cryptographic-algorithm', 'low'],
        ['js/unused-local-variable', 'low'],
      ]);
      expect(batch.findings[0]).toMatchObject({
        kind: 'code',
        stage: 'build',
        source: { tool: 'codeql', toolVersion: '2.17.4', integration: 'report', eventId: 'evt_sarif' },
        title: 'Code injection',
        toolSeverity: '9.3',
        rule: { id: 'js/code-injection', tags: ['security', 'external/cwe/cwe-094', 'external/cwe/cwe-095'] },
        code: {
          repo: 'acme/checkout',
          commit: SHA,
          branch: 'main',
          pullRequest: 42,
          path: 'src/admin/rules.js',
          line: 31,
          partialFingerprint: 'primaryLocationLineHash:9a2f1c7d3b4e5a60:1',
        },
        remediation: '# Code injection\nAvoid eval on user input.',
      });
    });

    it('keeps two results of one rule in one file apart by their partial fingerprints', () => {
      const [a, b] = batch.findings.filter((f) => f.rule.id === 'js/sql-injection');
      expect(a!.fingerprint).not.toBe(b!.fingerprint);
    });

    it('falls back to the level when a rule has no security-severity', () => {
      expect(batch.findings.find((f) => f.rule.id === 'js/unused-local-variable')).toMatchObject({ severity: 'low', toolSeverity: 'note' });
    });

    it('declares the run complete for the tool on that repository and branch', () => {
      expect(batch.scopes).toEqual([{ key: 'repo:acme/checkout@main/CodeQL', kinds: ['code', 'secret', 'misconfiguration', 'vulnerability'] }]);
    });
  });

  it('reads Semgrep: levels without scores, secrets by tag, unicode and very long text, a result without a location', () => {
    const batch = sarifParser.parse(fixture('semgrep-checkout.sarif.json'), meta({ repo: 'acme/checkout', commit: SHA, branch: 'feature/faster-cart' }));
    const [redirect, secret, alert] = batch.findings;
    expect(redirect).toMatchObject({
      kind: 'code',
      severity: 'medium',
      toolSeverity: 'warning',
      source: { tool: 'semgrep oss', toolVersion: '1.75.0' },
      code: { path: 'src/web/login.js', line: 41 },
    });
    expect(redirect!.description).toContain('🔀');
    expect(redirect!.rule.references).toEqual(['https://semgrep.dev/r/javascript.express.security.audit.express-open-redirect.express-open-redirect']);
    expect(secret).toMatchObject({ kind: 'secret', severity: 'high', code: { repo: 'acme/checkout', path: 'config/dev.env', line: 3 } });
    expect(alert).toMatchObject({ kind: 'code', severity: 'low', code: { path: undefined } });
    expect(alert!.description!.length).toBeGreaterThan(6000);
    expect(batch.scopes[0]!.key).toBe('repo:acme/checkout@feature/faster-cart/Semgrep OSS');
  });

  it('reads Trivy image SARIF as vulnerabilities of the image, fixable or not, meeting Trivy JSON in one fingerprint', () => {
    const batch = sarifParser.parse(fixture('trivy-image.sarif.json'), meta());
    const vulns = batch.findings.filter((f) => f.kind === 'vulnerability');
    expect(vulns.map((f) => [f.rule.id, f.package?.name, f.severity, f.fixable])).toEqual([
      ['CVE-2024-5535', 'openssl', 'critical', true],
      ['CVE-2023-45853', 'zlib1g', 'critical', false],
      ['CVE-2022-25883', 'semver', 'high', true],
    ]);
    expect(vulns[0]).toMatchObject({
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      package: { installed: '3.0.11-1~deb12u2', fixed: '3.0.13-1~deb12u1' },
      rule: { cvss: 9.1 },
      remediation: 'Upgrade openssl to 3.0.13-1~deb12u1',
    });
    expect(batch.findings.find((f) => f.kind === 'secret')).toMatchObject({ rule: { id: 'aws-access-key-id' }, code: { path: 'app/.env', line: 2 } });
    expect(batch.scopes).toEqual([{ key: `image:${DIGEST}/Trivy`, kinds: ['code', 'secret', 'misconfiguration', 'vulnerability'] }]);

    const json = trivyParser.parse(fixtureIn('trivy', 'image-checkout.json'), meta());
    const sameInJson = json.findings.find((f) => f.rule.id === 'CVE-2022-25883' && f.package?.name === 'semver');
    expect(vulns[2]!.fingerprint).toBe(sameInJson!.fingerprint);
  });

  it.each([{}, { repo: 'acme/checkout', commit: SHA, pr: 42 }])(
    "gives the Dockerfile checks of Trivy's SARIF and of its JSON one finding each (context %o)",
    (context) => {
      const sarif = sarifParser.parse(fixture('trivy-image.sarif.json'), meta(context)).findings.filter((f) => f.kind === 'misconfiguration');
      const json = trivyParser.parse(fixtureIn('trivy', 'image-checkout.json'), meta(context)).findings.filter((f) => f.kind === 'misconfiguration');
      // Same checks, spelled DS002 in SARIF and AVD-DS-0002 in JSON; the tool is `Trivy` in one and `trivy` in the other.
      expect(sarif.map((f) => f.rule.id)).toEqual(['DS002', 'DS026']);
      expect(json.map((f) => f.rule.id)).toEqual(['AVD-DS-0002', 'AVD-DS-0026']);
      expect(sarif.map((f) => f.fingerprint)).toEqual(json.map((f) => f.fingerprint));
      expect(new Set([...sarif, ...json].map((f) => f.source.tool))).toEqual(new Set(['trivy']));
      expect(sarif[0]).toMatchObject({ artifact: { repository: 'shop/checkout', digest: DIGEST }, severity: 'high', raw: { path: 'Dockerfile' } });
    },
  );

  it.each([
    ['file:///src/web/login.js', 'src/web/login.js'],
    ['./Dockerfile', 'Dockerfile'],
    ['/app/.env', 'app/.env'],
    ['Dockerfile', 'Dockerfile'],
  ])('reads the location %s as the path %s, as Trivy JSON names its targets', (uri, path) => {
    expect(relativePath(uri)).toBe(path);
  });

  it('reads an image vulnerability located at the image when the run names no image', () => {
    const log = JSON.parse(fixture('trivy-image.sarif.json'));
    delete log.runs[0].properties;
    const openssl = sarifParser.parse(JSON.stringify(log), meta({ repo: 'acme/checkout' })).findings.find((f) => f.rule.id === 'CVE-2024-5535')!;
    expect(openssl).toMatchObject({
      kind: 'vulnerability',
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout' },
      package: { name: 'openssl' },
    });
    expect(openssl.code?.path).toBeUndefined();
  });

  it('declares its scope with no results, so the findings of an earlier run resolve', () => {
    const batch = sarifParser.parse(fixture('empty.sarif.json'), meta());
    expect(batch.findings).toEqual([]);
    expect(batch.scopes).toEqual([{ key: 'repo:acme/checkout@main/CodeQL', kinds: ['code', 'secret', 'misconfiguration', 'vulnerability'] }]);
  });

  it.each([
    ['version-2.0.0.sarif.json', 'version'],
    ['missing-rule-id.sarif.json', 'runs[0].results[0].ruleId'],
  ])('rejects %s naming %s', (name, path) => {
    expect(parseError(() => sarifParser.parse(fixture(name), meta())).path).toBe(path);
  });

  it('is detected among report formats', () => {
    expect(sarifParser.detect(JSON.parse(fixture('semgrep-checkout.sarif.json')))).toBe(true);
    expect(sarifParser.detect({ SchemaVersion: 2, Results: [] })).toBe(false);
  });
});
