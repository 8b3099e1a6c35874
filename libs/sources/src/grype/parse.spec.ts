import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { ParseError, type SourceMeta } from '../source';
import { trivyParser } from '../trivy/parse';
import { grypeParser } from './parse';

const fixture = (name: string) => fixtureIn('grype', name);
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const SHA = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const meta = (context: SourceMeta['context'] = {}): SourceMeta => ({
  eventId: 'evt_grype',
  receivedAt: '2024-06-03T09:16:00.000Z',
  integration: 'report',
  context,
});

describe('Grype JSON', () => {
  const batch = grypeParser.parse(fixture('image-checkout.grype.json'), meta({ pr: 42 }));

  it('turns every match into a vulnerability of the image, with severities and fix states', () => {
    expect(batch.findings.map((f) => [f.rule.id, f.package?.name, f.severity, f.fixable])).toEqual([
      ['CVE-2024-5535', 'openssl', 'critical', true],
      ['CVE-2023-45853', 'zlib1g', 'critical', false],
      ['CVE-2022-25883', 'semver', 'high', true],
      ['CVE-2024-2511', 'libssl3', 'medium', true],
      ['CVE-2011-3374', 'apt', 'low', false],
      ['TEMP-0841856-B18BAF', 'bash', 'info', false],
      ['CVE-2024-28182', 'libnghttp2-14', 'info', false],
    ]);
    expect(batch.findings[0]).toMatchObject({
      kind: 'vulnerability',
      stage: 'build',
      source: { tool: 'grype', toolVersion: '0.78.0', integration: 'report', eventId: 'evt_grype' },
      toolSeverity: 'Critical',
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      package: {
        name: 'openssl',
        ecosystem: 'deb',
        installed: '3.0.11-1~deb12u2',
        fixed: '3.0.13-1~deb12u1',
        purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12',
        path: '/var/lib/dpkg/status',
      },
      rule: { cvss: 9.1, epss: 0.00431, references: ['https://security-tracker.debian.org/tracker/CVE-2024-5535'] },
      remediation: 'Upgrade openssl from 3.0.11-1~deb12u2 to 3.0.13-1~deb12u1',
    });
    expect(batch.findings[1]).toMatchObject({ raw: { fixState: 'wont-fix' }, remediation: undefined });
    expect(batch.findings[3]!.package!.fixed).toBe('3.0.14-1~deb12u1, 3.0.14-1~deb12u2');
  });

  it("names a GitHub advisory match by its CVE, so it meets Trivy's finding, keeping the GHSA as an alias", () => {
    const semver = batch.findings[2]!;
    expect(semver.rule).toMatchObject({ id: 'CVE-2022-25883', tags: ['GHSA-c2qf-rxjj-qqgw'], cvss: 7.5 });
    const trivy = trivyParser.parse(fixtureIn('trivy', 'image-checkout.json'), meta());
    expect(semver.fingerprint).toBe(trivy.findings.find((f) => f.rule.id === 'CVE-2022-25883' && f.package?.name === 'semver')!.fingerprint);
  });

  it('keeps unicode and very long descriptions and matches without optional fields', () => {
    expect(batch.findings[3]!.description).toContain('🔐 メモリ');
    expect(batch.findings[4]!.description!.length).toBeGreaterThan(5000);
    expect(batch.findings[6]).toMatchObject({ rule: { references: [] }, package: { purl: undefined, path: undefined } });
    expect(batch.findings[6]!.description).toBeUndefined();
  });

  it('records the image with the build its OCI labels name, and declares the digest complete for Grype', () => {
    expect(batch.assets).toEqual([
      {
        type: 'image',
        digest: DIGEST,
        registry: 'harbor.example.com',
        repository: 'shop/checkout',
        tags: ['1.4.2'],
        labels: expect.objectContaining({ 'org.opencontainers.image.revision': SHA }),
        build: { repo: 'acme/checkout', commit: SHA, branch: undefined, pullRequests: [42] },
        observedAt: '2024-06-03T09:16:00.000Z',
      },
    ]);
    expect(batch.scopes).toEqual([{ key: `image:${DIGEST}/grype`, kinds: ['vulnerability'], reportedAt: '2024-06-03T09:15:02.402Z' }]);
  });

  it('lets the upload context name the digest', () => {
    const other = 'sha256:' + 'b'.repeat(64);
    const b = grypeParser.parse(fixture('image-checkout.grype.json'), meta({ digest: other }));
    expect(b.findings[0]!.artifact!.digest).toBe(other);
  });

  it('declares its scope with no matches, so earlier findings resolve', () => {
    const empty = grypeParser.parse(fixture('empty.grype.json'), meta());
    expect(empty.findings).toEqual([]);
    expect(empty.scopes).toEqual([expect.objectContaining({ key: `image:${DIGEST}/grype`, kinds: ['vulnerability'] })]);
  });

  it('reads a directory scan as findings of the repository in the upload context', () => {
    const dir = grypeParser.parse(fixture('directory.grype.json'), meta({ repo: 'acme/checkout', commit: SHA }));
    expect(dir.findings[0]).toMatchObject({ artifact: undefined, code: { repo: 'acme/checkout', commit: SHA, path: '/app/node_modules/semver/package.json' } });
    expect(dir.scopes).toEqual([expect.objectContaining({ key: 'directory:./grype', kinds: ['vulnerability'] })]);
    expect(dir.assets).toEqual([]);
  });

  it('rejects a match without an artifact name, naming the field', () => {
    let error: ParseError | undefined;
    try {
      grypeParser.parse(fixture('missing-artifact-name.grype.json'), meta());
    } catch (err) {
      error = err as ParseError;
    }
    expect(error).toBeInstanceOf(ParseError);
    expect(error!.path).toBe('matches[0].artifact.name');
    expect(() => grypeParser.parse('{"descriptor": {"name": "grype"}}', meta())).toThrow(/matches/);
  });

  it('is detected by its descriptor', () => {
    expect(grypeParser.detect(JSON.parse(fixture('empty.grype.json')))).toBe(true);
    expect(grypeParser.detect({ matches: [] })).toBe(false);
  });
});
