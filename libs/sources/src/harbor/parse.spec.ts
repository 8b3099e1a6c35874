import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { IgnoredInput, ParseError, type SourceMeta } from '../source';
import { harborIntegration } from './integration';
import { harborParser } from './parse';
import { harborReportParser } from './report';

const fixture = (name: string) => fixtureIn('harbor', name);
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const meta = (context: SourceMeta['context'] = {}): SourceMeta => ({
  eventId: 'evt_test',
  receivedAt: '2024-06-03T09:12:16.000Z',
  integration: 'webhook:harbor',
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

describe('Harbor webhooks', () => {
  it.each(['scanning-completed.json', 'scanning-completed.cloudevents.json'])(
    'reads SCANNING_COMPLETED (%s) as the image and a pull of its full report',
    (name) => {
      const batch = harborParser.parse(fixture(name), meta());
      expect(batch.findings).toEqual([]);
      expect(batch.assets).toEqual([
        {
          type: 'image',
          digest: DIGEST,
          registry: 'harbor.example.com',
          repository: 'shop/checkout',
          tags: ['1.4.2'],
          labels: {},
          observedAt: '2024-06-03T09:12:16.000Z',
        },
      ]);
      expect(batch.followUps).toEqual([
        {
          kind: 'harbor-report',
          params: { project: 'shop', repository: 'shop/checkout', digest: DIGEST, registry: 'harbor.example.com', tag: '1.4.2' },
        },
      ]);
      // The summary is no complete report: only the pulled report declares a scope.
      expect(batch.scopes).toEqual([]);
    },
  );

  it('records a pushed or failed-to-scan artifact without asking for a report', () => {
    const pushed = harborParser.parse(fixture('push-artifact.cloudevents.json'), meta());
    expect(pushed.assets[0]).toMatchObject({ digest: DIGEST, tags: ['1.4.2'] });
    expect(pushed.followUps).toEqual([]);
    const failed = harborParser.parse(fixture('scanning-failed.json'), meta());
    expect(failed.assets[0]).toMatchObject({ digest: DIGEST, repository: 'shop/checkout' });
    expect(failed.followUps).toEqual([]);
  });

  it('does not take a digest Harbor writes in the tag field for a tag', () => {
    const batch = harborParser.parse(fixture('push-artifact-untagged.json'), meta());
    expect(batch.assets[0]).toMatchObject({ digest: DIGEST, registry: 'harbor.example.com', tags: [] });
  });

  it('acknowledges the events it does not read, in both formats', () => {
    expect(() => harborParser.parse(fixture('pull-artifact.json'), meta())).toThrow(IgnoredInput);
    const quota = JSON.stringify({ specversion: '1.0', type: 'harbor.quota.exceeded', data: {} });
    expect(() => harborParser.parse(quota, meta())).toThrow(IgnoredInput);
  });

  it.each([
    ['missing-digest.json', 'event_data.resources[0].digest'],
    ['{"occur_at": 1}', 'type'],
    ['{"type": "SCANNING_COMPLETED", "occur_at": 1}', 'event_data'],
    ['{"type": "SCANNING_COMPLETED", "event_data": {"resources": []}}', 'event_data.repository'],
    [
      '{"specversion": "1.0", "type": "harbor.scan.completed", "data": {"repository": {"name": "c", "namespace": "s", "repo_full_name": "s/c"}}}',
      'data.resources',
    ],
  ])('rejects %s naming %s', (input, path) => {
    const raw = input.endsWith('.json') ? fixture(input) : input;
    expect(parseError(() => harborParser.parse(raw, meta())).path).toBe(path);
  });

  it('tells its two formats apart from other documents', () => {
    expect(harborParser.detect(JSON.parse(fixture('scanning-completed.json')))).toBe(true);
    expect(harborParser.detect(JSON.parse(fixture('scanning-completed.cloudevents.json')))).toBe(true);
    expect(harborParser.detect({ SchemaVersion: 2, Results: [] })).toBe(false);
    expect(harborParser.detect({ specversion: '1.0', type: 'dev.knative.foo' })).toBe(false);
  });
});

describe('Harbor vulnerability report (additions/vulnerabilities)', () => {
  const context = { image: 'harbor.example.com/shop/checkout:1.4.2', digest: DIGEST };

  it('turns every item into a registry-stage vulnerability of the digest, with severities and fixes', () => {
    const doc = JSON.parse(fixture('report-checkout.json'));
    const items = doc['application/vnd.security.vulnerability.report; version=1.1'].vulnerabilities as { severity: string; fix_version?: string }[];
    const batch = harborReportParser.parse(fixture('report-checkout.json'), { ...meta(context), integration: 'collector:harbor' });

    expect(batch.findings).toHaveLength(items.length);
    const bySeverity = (s: string) => batch.findings.filter((f) => f.severity === s).length;
    expect({
      critical: bySeverity('critical'),
      high: bySeverity('high'),
      medium: bySeverity('medium'),
      low: bySeverity('low'),
      info: bySeverity('info'),
    }).toEqual({
      critical: 2,
      high: 2,
      medium: 2,
      low: 1,
      info: 2, // Negligible and Unknown
    });
    expect(batch.findings.filter((f) => f.fixable)).toHaveLength(items.filter((i) => i.fix_version).length);

    const openssl = batch.findings.find((f) => f.rule.id === 'CVE-2024-5535')!;
    expect(openssl).toMatchObject({
      kind: 'vulnerability',
      stage: 'registry',
      source: { tool: 'harbor', integration: 'collector:harbor', eventId: 'evt_test', toolVersion: 'Trivy v0.51.2' },
      toolSeverity: 'Critical',
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      package: { name: 'openssl', installed: '3.0.11-1~deb12u2', fixed: '3.0.13-1~deb12u1' },
      rule: { cvss: 9.1, references: ['https://avd.aquasec.com/nvd/cve-2024-5535'], tags: ['CWE-200'] },
      remediation: 'Upgrade openssl from 3.0.11-1~deb12u2 to 3.0.13-1~deb12u1',
    });
    const zlib = batch.findings.find((f) => f.rule.id === 'CVE-2023-45853')!;
    expect(zlib).toMatchObject({ fixable: false, package: { fixed: undefined } });
    expect(zlib.remediation).toBeUndefined();
    expect(batch.scopes).toEqual([{ key: `image:${DIGEST}/harbor`, kinds: ['vulnerability'] }]);
  });

  it('keeps unicode and very long descriptions, and items without optional fields', () => {
    const batch = harborReportParser.parse(fixture('report-checkout.json'), meta(context));
    expect(batch.findings.find((f) => f.rule.id === 'CVE-2024-2511')!.description).toContain('🔐 セッション処理');
    expect(batch.findings.find((f) => f.rule.id === 'CVE-2023-50495')!.description).toHaveLength(5000);
    const bash = batch.findings.find((f) => f.rule.id === 'TEMP-0841856-B18BAF')!;
    expect(bash).toMatchObject({ severity: 'info', fixable: false, rule: { references: [] } });
    expect(bash.description).toBeUndefined();
  });

  it('meets the CI Trivy scan of the same repository in one fingerprint', () => {
    const fromHarbor = harborReportParser.parse(fixture('report-checkout.json'), meta(context)).findings.find((f) => f.rule.id === 'CVE-2022-25883')!;
    const fromCi = harborReportParser
      .parse(fixture('report-checkout.json'), meta({ image: 'shop/checkout:1.5.0', digest: 'sha256:' + 'a'.repeat(64) }))
      .findings.find((f) => f.rule.id === 'CVE-2022-25883')!;
    expect(fromHarbor.fingerprint).toBe(fromCi.fingerprint);
  });

  it('reads the native 1.0 report and takes the digest from the items when no context names it', () => {
    const batch = harborReportParser.parse(fixture('report-native-1.0.json'), meta());
    expect(batch.findings).toHaveLength(1);
    expect(batch.findings[0]).toMatchObject({ severity: 'high', toolSeverity: 'High', artifact: { digest: DIGEST }, source: { toolVersion: 'Clair 2.x' } });
  });

  it('declares its scope even when the scan found nothing, so earlier findings resolve', () => {
    const batch = harborReportParser.parse(fixture('report-empty.json'), meta(context));
    expect(batch.findings).toEqual([]);
    expect(batch.scopes).toEqual([{ key: `image:${DIGEST}/harbor`, kinds: ['vulnerability'] }]);
  });

  it.each([
    ['report-missing-package.json', context, 'application/vnd.security.vulnerability.report; version=1.1.vulnerabilities[0].package'],
    ['report-empty.json', {}, 'digest'],
  ])('rejects %s naming the field', (name, ctx, path) => {
    expect(parseError(() => harborReportParser.parse(fixture(name), meta(ctx))).path).toBe(path);
  });

  it('rejects a document with no report under a MIME type it reads', () => {
    const err = parseError(() => harborReportParser.parse('{"application/vnd.cyclonedx+json": {}}', meta(context)));
    expect(err.message).toMatch(/version=1\.1/);
    expect(parseError(() => harborReportParser.parse('{"application/vnd', meta(context))).message).toMatch(/not valid JSON/);
  });
});

describe('Harbor webhook authentication', () => {
  const request = (authorization?: string) => ({ headers: { authorization }, raw: '{}' });

  it('refuses everyone when sources.harbor.webhookAuth is not set, unless allowUnauthenticated', () => {
    expect(harborIntegration.authenticate(request(), {})).toMatch(/sources\.harbor\.webhookAuth is not set/);
    expect(harborIntegration.authenticate(request(), { harbor: { allowUnauthenticated: true } })).toBeUndefined();
  });

  it('recognises a redelivered CloudEvent by its id; the Default format has none', () => {
    expect(harborIntegration.deliveryId!({ headers: {}, raw: fixture('scanning-completed.cloudevents.json') })).toBe('4b2f89a6-548d-4c12-9993-a1f5790b97d2');
    expect(harborIntegration.deliveryId!({ headers: {}, raw: fixture('scanning-completed.json') })).toBeUndefined();
    expect(harborIntegration.deliveryId!({ headers: {}, raw: '{"specversion' })).toBeUndefined();
  });

  it('requires the configured Authorization value exactly', () => {
    const sources = { harbor: { webhookAuth: 'Bearer harbor-hook-secret' } };
    expect(harborIntegration.authenticate(request('Bearer harbor-hook-secret'), sources)).toBeUndefined();
    expect(harborIntegration.authenticate(request('Bearer wrong'), sources)).toMatch(/does not match sources\.harbor\.webhookAuth/);
    expect(harborIntegration.authenticate(request(), sources)).toMatch(/missing Authorization/);
  });
});
