import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { IgnoredInput, ParseError, type SourceMeta } from '../source';
import { quayIntegration } from './integration';
import { quayParser } from './parse';

const fixture = (name: string) => fixtureIn('quay', name);
const meta: SourceMeta = { eventId: 'evt_quay', receivedAt: '2024-06-03T10:00:00.000Z', integration: 'webhook:quay', context: {} };
const parse = (name: string) => quayParser.parse(fixture(name), meta);

describe('Quay notifications', () => {
  it('turns vulnerability_found into a registry-stage vulnerability of the tagged repository', () => {
    const { findings, scopes } = parse('vulnerability-found.json');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      kind: 'vulnerability',
      stage: 'registry',
      source: { tool: 'quay', integration: 'webhook:quay', eventId: 'evt_quay' },
      severity: 'critical',
      toolSeverity: 'Critical',
      rule: { id: 'CVE-2024-5535', references: ['https://security-tracker.debian.org/tracker/CVE-2024-5535'] },
      artifact: { registry: 'quay.example.com', repository: 'shop/checkout', tag: '1.4.2' },
      fixable: true,
      raw: { tags: ['1.4.2', 'latest'] },
    });
    // A notification lists what is new, not all an image has: it cannot resolve anything.
    expect(scopes).toEqual([]);
  });

  it('reads Defcon1 as critical, keeps unfixable items and long unicode text', () => {
    const [finding] = parse('vulnerability-found-unfixed.json').findings;
    expect(finding).toMatchObject({ severity: 'critical', toolSeverity: 'Defcon1', fixable: false });
    expect(finding!.description).toContain('🧨');
    expect(finding!.description!.length).toBeGreaterThan(3000);
  });

  it('reads the batched form with several vulnerabilities, and one without optional fields', () => {
    const { findings } = parse('vulnerabilities-found.json');
    expect(findings.map((f) => [f.rule.id, f.severity, f.fixable])).toEqual([
      ['CVE-2022-25883', 'high', true],
      ['CVE-2024-2511', 'medium', true],
      ['CVE-2011-3374', 'low', false],
    ]);
    const [minimal] = parse('vulnerability-found-minimal.json').findings;
    expect(minimal).toMatchObject({ severity: 'info', fixable: false, rule: { references: [] }, artifact: { tag: undefined } });
  });

  it('acknowledges pushes (tags, no digest) and build notifications', () => {
    expect(() => parse('repo-push.json')).toThrow(IgnoredInput);
    expect(() => parse('build-success.json')).toThrow(IgnoredInput);
  });

  it('rejects a vulnerability without an id, naming the field', () => {
    let error: ParseError | undefined;
    try {
      parse('vulnerability-missing-id.json');
    } catch (err) {
      error = err as ParseError;
    }
    expect(error).toBeInstanceOf(ParseError);
    expect(error!.path).toBe('vulnerability.id');
    expect(() => quayParser.parse('{"tags": []}', meta)).toThrow(/repository/);
  });
});

describe('Quay token', () => {
  const sources = { quay: { token: 'quay-token' } };
  it('accepts the token from the URL or a bearer header when one is configured, nothing otherwise unless allowUnauthenticated', () => {
    expect(quayIntegration.authenticate({ headers: {}, raw: '{}', query: { token: 'quay-token' } }, sources)).toBeUndefined();
    expect(quayIntegration.authenticate({ headers: { authorization: 'Bearer quay-token' }, raw: '{}' }, sources)).toBeUndefined();
    expect(quayIntegration.authenticate({ headers: {}, raw: '{}', query: { token: 'nope' } }, sources)).toMatch(/does not match sources\.quay\.token/);
    expect(quayIntegration.authenticate({ headers: {}, raw: '{}' }, sources)).toMatch(/\?token=/);
    expect(quayIntegration.authenticate({ headers: {}, raw: '{}' }, {})).toMatch(/sources\.quay\.token is not set/);
    expect(quayIntegration.authenticate({ headers: {}, raw: '{}' }, { quay: { allowUnauthenticated: true } })).toBeUndefined();
  });
});
