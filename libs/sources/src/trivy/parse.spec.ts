import { batchSchema, type Batch, type Finding, type ImageAsset } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { DIGEST, fixture as fixtureIn, meta as metaOf, parseError } from '../../../../test/support/fixtures';
import { detectFormat } from '../registry';
import type { ReportContext, SourceMeta } from '../source';
import { trivyParser } from './parse';

const fixture = (name: string) => fixtureIn('trivy', name);

// The shared test universe (test/fixtures/universe.md).
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

const meta = (context: ReportContext = {}): SourceMeta => metaOf({ ...context });

const CHECKOUT = fixture('image-checkout.json');
const parse = (raw: string = CHECKOUT, context: ReportContext = {}) => trivyParser.parse(raw, meta(context));

/** Parses a copy of the checkout report after `edit` changed the raw document. */
function parseEdited(edit: (doc: any) => void, context: ReportContext = {}): Batch {
  const doc = JSON.parse(CHECKOUT);
  edit(doc);
  return parse(JSON.stringify(doc), context);
}

const countBy = <T>(items: T[], key: (item: T) => string) =>
  items.reduce<Record<string, number>>((acc, item) => ({ ...acc, [key(item)]: (acc[key(item)] ?? 0) + 1 }), {});

const find = (batch: Batch, rule: string, pkg?: string): Finding => {
  const found = batch.findings.find((f) => f.rule.id === rule && (pkg === undefined || f.package?.name === pkg));
  if (!found) throw new Error(`no finding ${rule} ${pkg ?? ''}`);
  return found;
};

/** What the fixture holds, counted from the raw JSON rather than by the parser under test. */
function countRaw(raw: string) {
  const doc = JSON.parse(raw);
  const vulnerabilities = doc.Results.flatMap((r: any) => r.Vulnerabilities ?? []);
  return {
    vulnerabilities: vulnerabilities.length,
    bySeverity: countBy(vulnerabilities, (v: any) => v.Severity as string),
    fixable: vulnerabilities.filter((v: any) => v.FixedVersion).length,
    failedChecks: doc.Results.flatMap((r: any) => r.Misconfigurations ?? []).filter((m: any) => m.Status === 'FAIL').length,
    secrets: doc.Results.flatMap((r: any) => r.Secrets ?? []).length,
  };
}

describe('trivy parser on the checkout image report', () => {
  const batch = parse();

  it('produces a batch that satisfies the normalized model', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
  });

  it('turns every vulnerability, failed check and secret into one finding', () => {
    const raw = countRaw(CHECKOUT);
    const byKind = countBy(batch.findings, (f) => f.kind);
    // Written into the fixture on purpose; a change here means the fixture or the parser moved.
    expect(raw).toEqual({
      vulnerabilities: 56,
      bySeverity: { CRITICAL: 7, HIGH: 16, MEDIUM: 16, LOW: 13, UNKNOWN: 4 },
      fixable: 35,
      failedChecks: 2,
      secrets: 1,
    });
    expect(byKind).toEqual({ vulnerability: raw.vulnerabilities, misconfiguration: raw.failedChecks, secret: raw.secrets });
  });

  it('maps Trivy severities onto Klaxon levels, keeping the tool word', () => {
    const vulnerabilities = batch.findings.filter((f) => f.kind === 'vulnerability');
    expect(countBy(vulnerabilities, (f) => f.severity)).toEqual({ critical: 7, high: 16, medium: 16, low: 13, info: 4 });
    expect(countBy(vulnerabilities, (f) => f.toolSeverity ?? '')).toEqual(countRaw(CHECKOUT).bySeverity);
    // Across kinds: the AWS key is critical, DS002 high, DS026 low.
    expect(countBy(batch.findings, (f) => f.severity)).toEqual({ critical: 8, high: 17, medium: 16, low: 14, info: 4 });
  });

  it.each([
    ['CVE-2025-0665', 'libcurl4', 'UNKNOWN', 'info'],
    ['CVE-2024-5535', 'openssl', 'CRITICAL', 'critical'],
    ['CVE-2024-29415', 'ip', 'HIGH', 'high'],
    ['CVE-2024-24791', 'stdlib', 'MEDIUM', 'medium'],
    ['TEMP-0628843-DBAD28', 'login', 'LOW', 'low'],
  ])('%s in %s (%s) is %s', (rule, pkg, toolSeverity, severity) => {
    expect(find(batch, rule, pkg)).toMatchObject({ toolSeverity, severity });
  });

  it('counts fixable and unfixable vulnerabilities', () => {
    const vulnerabilities = batch.findings.filter((f) => f.kind === 'vulnerability');
    expect(vulnerabilities.filter((f) => f.fixable)).toHaveLength(35);
    expect(vulnerabilities.filter((f) => !f.fixable)).toHaveLength(21);
    expect(vulnerabilities.filter((f) => f.fixable)).toHaveLength(countRaw(CHECKOUT).fixable);
  });

  it('describes a fixable OS package vulnerability with its upgrade path', () => {
    expect(find(batch, 'CVE-2024-5535', 'openssl')).toMatchObject({
      kind: 'vulnerability',
      stage: 'build',
      source: { tool: 'trivy', integration: 'report', eventId: 'evt-1' },
      title: 'CVE-2024-5535 in openssl — openssl: SSL_select_next_proto buffer overread',
      severity: 'critical',
      toolSeverity: 'CRITICAL',
      rule: { id: 'CVE-2024-5535', name: 'openssl: SSL_select_next_proto buffer overread', cvss: 9.1 },
      package: {
        name: 'openssl',
        ecosystem: 'debian',
        installed: '3.0.11-1~deb12u2',
        fixed: '3.0.13-1~deb12u1',
        purl: 'pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5',
      },
      fixable: true,
      remediation: 'Upgrade openssl from 3.0.11-1~deb12u2 to 3.0.13-1~deb12u1',
      observedAt: '2026-11-23T10:00:00.000Z',
      raw: {
        PkgID: 'openssl@3.0.11-1~deb12u2',
        Status: 'fixed',
        SeveritySource: 'debian',
        Target: 'harbor.example.com/shop/checkout:1.4.2 (debian 12.5)',
      },
    });
  });

  it.each([
    ['CVE-2023-45853', 'zlib1g', 'will_not_fix'],
    ['CVE-2023-52425', 'libexpat1', 'affected'],
    ['CVE-2024-26462', 'libkrb5-3', 'fix_deferred'],
    ['CVE-2024-29415', 'ip', 'affected'],
  ])('%s in %s (%s) is not fixable and offers no upgrade', (rule, pkg, status) => {
    const finding = find(batch, rule, pkg);
    expect(finding).toMatchObject({ fixable: false, raw: { Status: status } });
    expect(finding.package?.fixed).toBeUndefined();
    expect(finding.remediation).toBeUndefined();
  });

  it('does not call a vulnerability fixable when Trivy names a version but says no fix will come', () => {
    const edited = parseEdited((doc) => {
      Object.assign(doc.Results[0].Vulnerabilities[0], { Status: 'end_of_life', FixedVersion: '3.0.13-1~deb12u1' });
    });
    expect(edited.findings[0]).toMatchObject({ rule: { id: 'CVE-2024-5535' }, package: { name: 'openssl' }, fixable: false });
    expect(edited.findings[0].remediation).toBeUndefined();
  });

  it('keeps the package path and ecosystem of language packages', () => {
    expect(find(batch, 'CVE-2024-45590', 'body-parser')).toMatchObject({
      package: {
        ecosystem: 'node-pkg',
        path: 'app/node_modules/body-parser/package.json',
        purl: 'pkg:npm/body-parser@1.20.1',
        installed: '1.20.1',
        fixed: '1.20.3',
      },
      remediation: 'Upgrade body-parser from 1.20.1 to 1.20.3',
    });
    expect(find(batch, 'CVE-2024-24790', 'stdlib')).toMatchObject({
      package: { ecosystem: 'gobinary', installed: 'v1.22.1', fixed: '1.21.11, 1.22.4' },
      raw: { Target: 'usr/local/bin/healthcheck' },
    });
  });

  it('takes the highest v3 score over vendors, and v2 only when nobody scored v3', () => {
    expect(find(batch, 'CVE-2022-25883').rule.cvss).toBe(7.5); // nvd 7.5 beats ghsa 5.3
    expect(find(batch, 'CVE-2005-2541', 'tar').rule.cvss).toBe(10); // v2 only
    expect(find(batch, 'CVE-2025-0665', 'libcurl4').rule.cvss).toBeUndefined();
    const reordered = parseEdited((doc) => {
      doc.Results[0].Vulnerabilities[0].CVSS = {
        ghsa: { V3Score: 5.3 },
        redhat: { V2Score: 9.3, V3Score: 6.1 },
        nvd: { V3Score: 7.5 },
      };
    });
    expect(reordered.findings[0].rule.cvss).toBe(7.5);
  });

  it('lists the primary URL first and each reference once', () => {
    const references = find(batch, 'CVE-2024-2961', 'libc6').rule.references;
    expect(references[0]).toBe('https://avd.aquasec.com/nvd/cve-2024-2961');
    expect(new Set(references).size).toBe(references.length);
    expect(references).toContain('https://nvd.nist.gov/vuln/detail/CVE-2024-2961');
  });

  it('carries unicode titles and long descriptions unchanged', () => {
    const unicode = find(batch, 'GHSA-7c9m-x2p4-q3rv');
    expect(unicode.title).toContain('“zh‑Hant‑TW” (繁體中文) — ünïcödé ≠ ascii');
    const long = find(batch, 'CVE-2024-2961', 'libc6');
    expect(long.description!.length).toBeGreaterThan(2000);
    expect(long.description).toMatch(/^The iconv\(\) function .* relinked\.$/s);
  });

  it('names the image by registry, repository, tag and manifest digest (not the image id)', () => {
    const expected = { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST };
    for (const finding of batch.findings) expect(finding.artifact).toEqual(expected);
    const imageId = JSON.parse(CHECKOUT).Metadata.ImageID;
    expect(imageId).toMatch(/^sha256:/);
    expect(batch.findings.some((f) => f.artifact?.digest === imageId)).toBe(false);
  });

  it('takes the digest and tag recorded for the scanned repository when the image has several names', () => {
    const mirrored = parseEdited((doc) => {
      doc.ArtifactName = 'harbor.example.com/shop/checkout@' + DIGEST.replace('9f2c', '0000');
      doc.Metadata.RepoTags = ['mirror.example.net/shop/checkout:mirror-7', 'harbor.example.com/shop/checkout:1.4.2'];
      doc.Metadata.RepoDigests = [`mirror.example.net/shop/checkout@sha256:${'b'.repeat(64)}`, `harbor.example.com/shop/checkout@${DIGEST}`];
    });
    // A digest written in the name wins over RepoDigests; the tag comes from the matching RepoTag.
    expect(mirrored.findings[0].artifact).toEqual({
      registry: 'harbor.example.com',
      repository: 'shop/checkout',
      tag: '1.4.2',
      digest: DIGEST.replace('9f2c', '0000'),
    });
    const byTag = parseEdited((doc) => {
      doc.Metadata.RepoDigests = [`mirror.example.net/shop/checkout@sha256:${'b'.repeat(64)}`, `harbor.example.com/shop/checkout@${DIGEST}`];
    });
    expect(byTag.findings[0].artifact?.digest).toBe(DIGEST);
  });

  it('records the image with its tags, labels and the build named by its OCI labels', () => {
    expect(batch.assets).toEqual<ImageAsset[]>([
      {
        type: 'image',
        digest: DIGEST,
        registry: 'harbor.example.com',
        repository: 'shop/checkout',
        tags: ['1.4.2'],
        labels: expect.objectContaining({
          'org.opencontainers.image.source': 'https://github.com/acme/checkout',
          'org.opencontainers.image.revision': COMMIT,
        }),
        build: { repo: 'acme/checkout', commit: COMMIT, branch: undefined, pullRequests: [] },
        observedAt: '2026-11-23T10:00:00.000Z',
      },
    ]);
  });

  it('declares itself complete for the image digest', () => {
    // Trivy's CreatedAt: reports of the digest apply in the order Trivy made them.
    expect(batch.scopes).toEqual([
      { key: `image:${DIGEST}`, kinds: ['vulnerability', 'misconfiguration', 'secret'], reportedAt: '2026-11-23T09:58:31.402715372Z' },
    ]);
  });

  it('gives the same CVE in the same package the same fingerprint wherever it was found', () => {
    const semver = batch.findings.filter((f) => f.rule.id === 'CVE-2022-25883' && f.package?.name === 'semver');
    expect(semver.map((f) => f.package?.path)).toEqual([
      'app/node_modules/semver/package.json',
      'usr/local/lib/node_modules/npm/node_modules/semver/package.json',
    ]);
    expect(semver[0].fingerprint).toBe(semver[1].fingerprint);
  });

  it('gives the same CVE in two packages two fingerprints', () => {
    expect(find(batch, 'CVE-2024-5535', 'openssl').fingerprint).not.toBe(find(batch, 'CVE-2024-5535', 'libssl3').fingerprint);
  });

  it('keeps fingerprints when only the digest changes (a rebuild that still has the problem)', () => {
    const rebuilt = parseEdited((doc) => {
      doc.Metadata.RepoDigests = [`harbor.example.com/shop/checkout@sha256:${'1'.repeat(64)}`];
    });
    expect(rebuilt.findings[0].artifact?.digest).toBe(`sha256:${'1'.repeat(64)}`);
    expect(rebuilt.findings.map((f) => f.fingerprint)).toEqual(batch.findings.map((f) => f.fingerprint));
    expect(rebuilt.scopes[0].key).not.toBe(batch.scopes[0].key);
  });

  it('reports failed Dockerfile checks and skips passed ones', () => {
    const checks = batch.findings.filter((f) => f.kind === 'misconfiguration');
    expect(checks.map((f) => f.rule.id)).toEqual(['AVD-DS-0002', 'AVD-DS-0026']);
    expect(checks[0]).toMatchObject({
      title: "Image user should not be 'root'",
      severity: 'high',
      toolSeverity: 'HIGH',
      fixable: true,
      remediation: "Add 'USER <non root user name>' line to the Dockerfile",
      rule: {
        references: ['https://avd.aquasec.com/misconfig/ds002', 'https://docs.docker.com/develop/develop-images/dockerfile_best-practices/'],
      },
      raw: { ID: 'DS002', Message: 'Specify at least 1 USER command in Dockerfile with non-root user as argument' },
    });
    // In an image report the Dockerfile is the image's, not a file in a repo.
    expect(checks[0].code).toBeUndefined();
  });

  it('reports a secret by rule and location', () => {
    const [secret] = batch.findings.filter((f) => f.kind === 'secret');
    expect(secret).toMatchObject({
      title: 'AWS Access Key ID in /app/.env',
      severity: 'critical',
      rule: { id: 'aws-access-key-id', name: 'AWS Access Key ID' },
      code: { path: '/app/.env', line: 3 },
      raw: { Category: 'AWS', StartLine: 3, EndLine: 3 },
    });
  });

  it('never copies the secret itself into a finding', () => {
    const leaked = 'AKIAZ7QX3LNWJ5EXAMPL';
    const unmasked = parseEdited((doc) => {
      const secret = doc.Results[4].Secrets[0];
      secret.Match = `AWS_ACCESS_KEY_ID=${leaked}`;
      secret.Code.Lines[2].Content = secret.Match;
      secret.Code.Lines[2].Highlighted = secret.Match;
    });
    const text = JSON.stringify(unmasked);
    expect(text).not.toContain(leaked);
    expect(JSON.stringify(batch)).not.toContain('AWS_ACCESS_KEY_ID=');
  });
});

describe('trivy parser with upload context', () => {
  const context: ReportContext = {
    repo: 'acme/checkout',
    commit: COMMIT,
    branch: 'feature/faster-checkout',
    pr: 42,
    image: 'harbor.example.com/shop/checkout:1.4.2-rc.1',
    digest: `sha256:${'a'.repeat(64)}`,
  };
  const batch = parse(CHECKOUT, context);

  it('lets the context name the image and its digest', () => {
    expect(batch.findings[0].artifact).toEqual({
      registry: 'harbor.example.com',
      repository: 'shop/checkout',
      tag: '1.4.2-rc.1',
      digest: context.digest,
    });
    expect(batch.scopes[0].key).toBe(`image:${context.digest}`);
  });

  it('links every finding to the repo, commit, branch and pull request', () => {
    const expected = { repo: 'acme/checkout', commit: COMMIT, branch: 'feature/faster-checkout', pullRequest: 42 };
    for (const kind of ['vulnerability', 'misconfiguration'] as const) {
      expect(batch.findings.find((f) => f.kind === kind)!.code).toEqual(expected);
    }
    expect(batch.findings.find((f) => f.kind === 'secret')!.code).toEqual({ ...expected, path: '/app/.env', line: 3 });
  });

  it('records the build from the context over the OCI labels', () => {
    const [asset] = batch.assets as ImageAsset[];
    expect(asset.build).toEqual({ repo: 'acme/checkout', commit: COMMIT, branch: 'feature/faster-checkout', pullRequests: [42] });
    expect(asset.tags).toEqual(['1.4.2-rc.1', '1.4.2']);
  });

  it('overrides label values that disagree, keeping the labels for what the context leaves out', () => {
    const fork = parse(CHECKOUT, { repo: 'acme/checkout-fork' });
    expect((fork.assets[0] as ImageAsset).build).toMatchObject({ repo: 'acme/checkout-fork', commit: COMMIT });
    const other = parse(CHECKOUT, { commit: 'b'.repeat(40) });
    expect((other.assets[0] as ImageAsset).build).toMatchObject({ repo: 'acme/checkout', commit: 'b'.repeat(40) });
  });

  it('keeps the fingerprints of the same problems found without context', () => {
    const plain = parse();
    const vulnerabilities = (b: Batch) => b.findings.filter((f) => f.kind === 'vulnerability').map((f) => f.fingerprint);
    expect(vulnerabilities(batch)).toEqual(vulnerabilities(plain));
  });
});

describe('trivy parser on a repository scan', () => {
  const report = JSON.stringify({
    SchemaVersion: 2,
    CreatedAt: '2026-11-23T09:30:02.55Z',
    ArtifactName: 'https://github.com/acme/checkout',
    ArtifactType: 'repository',
    Metadata: { ImageConfig: { architecture: '', created: '0001-01-01T00:00:00Z', os: '', rootfs: { type: '', diff_ids: null }, config: {} } },
    Results: [
      {
        Target: 'package-lock.json',
        Class: 'lang-pkgs',
        Type: 'npm',
        Vulnerabilities: [
          { VulnerabilityID: 'CVE-2024-45590', PkgName: 'body-parser', InstalledVersion: '1.20.1', FixedVersion: '1.20.3', Status: 'fixed', Severity: 'HIGH' },
        ],
      },
      {
        Target: 'deploy/Dockerfile',
        Class: 'config',
        Type: 'dockerfile',
        Misconfigurations: [{ ID: 'DS026', AVDID: 'AVD-DS-0026', Title: 'No HEALTHCHECK defined', Severity: 'LOW', Status: 'FAIL' }],
      },
    ],
  });
  const batch = trivyParser.parse(report, meta({ commit: COMMIT }));

  it('has no image: no artifact, no image asset, a scope named after the artifact', () => {
    expect(batch.findings.every((f) => f.artifact === undefined)).toBe(true);
    expect(batch.assets).toEqual([]);
    expect(batch.scopes).toEqual([
      { key: 'artifact:https://github.com/acme/checkout', kinds: ['vulnerability', 'misconfiguration', 'secret'], reportedAt: '2026-11-23T09:30:02.55Z' },
    ]);
  });

  it('places findings in the repo by the file Trivy names', () => {
    expect(batch.findings.map((f) => f.code)).toEqual([
      { repo: 'acme/checkout', commit: COMMIT, path: 'package-lock.json' },
      { repo: 'acme/checkout', commit: COMMIT, path: 'deploy/Dockerfile' },
    ]);
  });
});

describe('trivy parser on reports without findings', () => {
  it('gives an empty batch that still claims its scope, so everything open for the image resolves', () => {
    const batch = parse(fixture('empty.json'));
    expect(batch.findings).toEqual([]);
    expect(batch.scopes).toEqual([
      { key: `image:${DIGEST}`, kinds: ['vulnerability', 'misconfiguration', 'secret'], reportedAt: '2026-11-24T06:00:12.118000431Z' },
    ]);
    expect(batch.assets).toHaveLength(1);
  });

  it('accepts a report without Results at all', () => {
    const batch = parseEdited((doc) => delete doc.Results);
    expect(batch.findings).toEqual([]);
    expect(batch.scopes.map((s) => s.key)).toEqual([`image:${DIGEST}`]);
  });
});

describe('trivy parser errors', () => {
  it.each([
    ['broken.json', fixture('broken.json'), undefined, /not valid JSON/],
    ['schema-v3.json', fixture('schema-v3.json'), 'SchemaVersion', /unsupported Trivy schema version 3; Klaxon reads SchemaVersion 2/],
    ['missing-id.json', fixture('missing-id.json'), 'Results[0].Vulnerabilities[0].VulnerabilityID', /Required/],
    ['a JSON array', '[]', undefined, /JSON object/],
    ['a JSON string', '"trivy"', undefined, /JSON object/],
    ['no SchemaVersion', '{"ArtifactName":"x","Results":[]}', 'SchemaVersion', /missing/],
    ['a string SchemaVersion', '{"SchemaVersion":"2"}', 'SchemaVersion', /unsupported Trivy schema version "2"/],
    ['Results not a list', '{"SchemaVersion":2,"Results":{}}', 'Results', /Expected array, received object/],
    [
      'a misconfiguration without ID',
      '{"SchemaVersion":2,"Results":[{"Target":"Dockerfile","Misconfigurations":[{"Status":"FAIL"}]}]}',
      'Results[0].Misconfigurations[0].ID',
      /Required/,
    ],
    [
      'a numeric PkgName',
      '{"SchemaVersion":2,"Results":[{"Target":"t","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":7}]}]}',
      'Results[0].Vulnerabilities[0].PkgName',
      /Expected string/,
    ],
  ])('rejects %s', (_name, raw, path, message) => {
    const err = parseError(() => parse(raw));
    expect(err.path).toBe(path);
    expect(err.message).toMatch(message);
    if (path) expect(err.message.startsWith(`${path}: `)).toBe(true);
  });

  it('accepts null lists where Trivy writes them', () => {
    const raw = '{"SchemaVersion":2,"ArtifactName":".","Results":[{"Target":"t","Vulnerabilities":null,"Misconfigurations":null,"Secrets":null}]}';
    expect(parse(raw).findings).toEqual([]);
  });
});

describe('trivy format detection', () => {
  it.each([
    { name: 'the checkout report', doc: JSON.parse(CHECKOUT), expected: true },
    { name: 'a report with only SchemaVersion and ArtifactName', doc: { SchemaVersion: 2, ArtifactName: '.' }, expected: true },
    { name: 'a report of another schema version', doc: { SchemaVersion: 3, Results: [] }, expected: true },
    { name: 'only SchemaVersion', doc: { SchemaVersion: 2 }, expected: false },
    { name: 'a Grype report', doc: { matches: [], source: {}, descriptor: { name: 'grype' } }, expected: false },
    { name: 'SARIF', doc: { version: '2.1.0', runs: [] }, expected: false },
    { name: 'null', doc: null, expected: false },
    { name: 'an array', doc: [{ SchemaVersion: 2, Results: [] }], expected: false },
  ])('$name → $expected', ({ doc, expected }) => {
    expect(trivyParser.detect(doc)).toBe(expected);
  });

  it('is how the registry recognises an upload without ?format=', () => {
    expect(detectFormat(CHECKOUT)).toBe('trivy');
  });
});
