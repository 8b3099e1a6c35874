import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { IgnoredInput, ParseError, type SourceMeta } from '../source';
import { githubIntegration, verifyGitHubSignature } from './integration';
import { githubParser } from './parse';
import { trivyParser } from '../trivy/parse';

const fixture = (name: string) => fixtureIn('github', name);
const SHA = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const meta = (event?: string): SourceMeta => ({
  eventId: 'evt_gh',
  receivedAt: '2024-06-03T09:12:41.000Z',
  integration: 'webhook:github',
  context: event ? ({ event } as SourceMeta['context']) : {},
});
const parse = (name: string, event: string) => githubParser.parse(fixture(name), meta(event));

describe('GitHub webhooks', () => {
  it('records a workflow run as the build of a commit for its pull requests', () => {
    const batch = parse('workflow-run-completed.json', 'workflow_run');
    expect(batch.findings).toEqual([]);
    expect(batch.assets).toEqual([
      {
        type: 'build',
        repo: 'acme/checkout',
        commit: SHA,
        branch: 'feature/faster-cart',
        pullRequests: [42],
        digests: [],
        url: 'https://github.com/acme/checkout/actions/runs/9384756102',
        observedAt: '2024-06-03T09:12:41.000Z',
      },
    ]);
  });

  it('records a check suite with every pull request it ran for, and no branch when GitHub gives none', () => {
    const [asset] = parse('check-suite-completed.json', 'check_suite').assets;
    expect(asset).toMatchObject({ type: 'build', repo: 'acme/checkout', commit: SHA, pullRequests: [42, 43] });
    expect(asset).toHaveProperty('branch', undefined);
  });

  it('links a pull request to its head commit', () => {
    const [asset] = parse('pull-request-opened.json', 'pull_request').assets;
    expect(asset).toMatchObject({
      repo: 'acme/checkout',
      commit: SHA,
      branch: 'feature/faster-cart',
      pullRequests: [42],
      url: 'https://github.com/acme/checkout/pull/42',
    });
  });

  it('turns an open code scanning alert into a code finding scoped to that alert', () => {
    const batch = parse('code-scanning-alert-created.json', 'code_scanning_alert');
    expect(batch.findings).toHaveLength(1);
    expect(batch.findings[0]).toMatchObject({
      kind: 'code',
      stage: 'build',
      source: { tool: 'codeql', toolVersion: '2.17.4', integration: 'webhook:github', eventId: 'evt_gh' },
      title: 'Database query built from user-controlled sources',
      severity: 'high',
      toolSeverity: 'high',
      rule: { id: 'js/sql-injection', references: ['https://github.com/acme/checkout/security/code-scanning/7'], tags: ['external/cwe/cwe-089', 'security'] },
      code: { repo: 'acme/checkout', commit: SHA, pullRequest: 42, path: 'src/cart/repository.js', line: 88 },
      fixable: true,
    });
    expect(batch.scopes).toEqual([{ key: 'github-code-scanning:acme/checkout#7', kinds: ['code'] }]);
  });

  it('resolves the alert when GitHub says it is fixed: same scope, no finding', () => {
    const opened = parse('code-scanning-alert-created.json', 'code_scanning_alert');
    const fixed = parse('code-scanning-alert-fixed.json', 'code_scanning_alert');
    expect(fixed.findings).toEqual([]);
    expect(fixed.scopes).toEqual(opened.scopes);
  });

  it('falls back to the SARIF level without a security severity, and keeps long unicode text and missing locations', () => {
    const [finding] = parse('code-scanning-alert-note.json', 'code_scanning_alert').findings;
    expect(finding).toMatchObject({ severity: 'low', toolSeverity: 'note', code: { repo: 'acme/checkout', branch: 'main' } });
    expect(finding!.title).toContain('ユーザー 🔍');
    expect(finding!.title.length).toBeGreaterThan(4000);
    expect(finding!.code!.path).toBeUndefined();
    expect(finding!.source.toolVersion).toBeUndefined();
  });

  it('acknowledges ping and events it does not read', () => {
    expect(() => parse('ping.json', 'ping')).toThrow(IgnoredInput);
    expect(() => parse('star-created.json', 'star')).toThrow(/"star"/);
  });

  it('rejects a payload missing a required field, naming it, and a body without its event header', () => {
    let error: unknown;
    try {
      parse('workflow-run-missing-sha.json', 'workflow_run');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).path).toBe('workflow_run.head_sha');
    expect(() => githubParser.parse(fixture('ping.json'), meta())).toThrow(/X-GitHub-Event/);
  });
});

describe('GitHub webhook signature', () => {
  const secret = 'gh-webhook-secret';
  const body = fixture('ping.json');
  const sign = (raw: string, key = secret) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;
  const request = (signature?: string) => ({ headers: { 'x-hub-signature-256': signature, 'x-github-event': 'ping', 'x-github-delivery': 'd-1' }, raw: body });

  it('accepts the body signed with the configured secret', () => {
    expect(verifyGitHubSignature(body, sign(body), secret)).toBe(true);
    expect(githubIntegration.authenticate(request(sign(body)), { github: { secret } })).toBeUndefined();
  });

  it('refuses another secret, a changed body, a malformed header, and no header', () => {
    expect(githubIntegration.authenticate(request(sign(body, 'other')), { github: { secret } })).toMatch(/does not match/);
    expect(githubIntegration.authenticate(request(sign(body + ' ')), { github: { secret } })).toMatch(/does not match/);
    expect(githubIntegration.authenticate(request('sha1=abc'), { github: { secret } })).toMatch(/does not match/);
    expect(githubIntegration.authenticate(request(), { github: { secret } })).toMatch(/missing X-Hub-Signature-256/);
  });

  it('refuses everything until a secret is configured, naming the config key', () => {
    expect(githubIntegration.authenticate(request(sign(body)), {})).toMatch(/sources\.github\.secret/);
  });

  it('reads the event name and the delivery id from the headers', () => {
    expect(githubIntegration.context!(request())).toEqual({ event: 'ping' });
    expect(githubIntegration.deliveryId!(request())).toBe('d-1');
  });

  it("joins a code-scanning alert for an image's CVE to the image's own vulnerability, not to the code", () => {
    const [alert] = parse('code-scanning-alert-trivy-image.json', 'code_scanning_alert').findings;
    expect(alert).toMatchObject({
      kind: 'vulnerability',
      source: { tool: 'trivy' },
      severity: 'critical',
      rule: { id: 'CVE-2024-5535' },
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout' },
      package: { name: 'openssl', installed: '3.0.11-1~deb12u2', fixed: '3.0.13-1~deb12u1' },
      code: { repo: 'acme/checkout', commit: SHA, pullRequest: 42 },
      fixable: true,
    });
    const json = trivyParser.parse(fixtureIn('trivy', 'image-checkout.json'), { ...meta(), integration: 'report' });
    const own = json.findings.find((f) => f.rule.id === 'CVE-2024-5535' && f.package?.name === 'openssl')!;
    expect(alert.fingerprint).toBe(own.fingerprint);
    const fixed = JSON.parse(fixture('code-scanning-alert-trivy-image.json'));
    fixed.action = 'fixed';
    fixed.alert.state = 'fixed';
    expect(githubParser.parse(JSON.stringify(fixed), meta('code_scanning_alert'))).toMatchObject({ findings: [], scopes: [{ kinds: ['vulnerability'] }] });
  });
});
