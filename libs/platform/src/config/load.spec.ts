import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// Destinations are checked by their own types' schemas, which libs/destinations registers: the full parse.
import { loadConfigFile, parseConfig } from '@klaxon/destinations';
import { resolveCredentials } from '../auth/credentials';
import { ConfigError, loadExceptionsFile, parseConfig as parseWithoutDestinationTypes, parseExceptions } from './load';

const root = resolve(__dirname, '../../../..');
const exampleEnv = {
  KLAXON_API_TOKEN: 'api-token',
  GITHUB_WEBHOOK_SECRET: 'gh-secret',
  GITLAB_WEBHOOK_TOKEN: 'gl-token',
  SLACK_BOT_TOKEN: 'xoxb-test',
  JIRA_HOST: 'jira.example.com',
  JIRA_USER: 'klaxon@example.com',
  JIRA_API_TOKEN: 'jira-token',
  PD_ROUTING_KEY: 'R0UTINGKEY',
  // GitHub Actions' GITHUB_TOKEN: an App installation token, which may write check runs.
  GITHUB_TOKEN: 'ghs_actionsInstallationToken',
  FALCO_TOKEN: 'falco-token',
  TETRAGON_TOKEN: 'tetragon-token',
  STACKROX_TOKEN: 'stackrox-token',
  ALERTMANAGER_TOKEN: 'alertmanager-token',
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const minimal = (routes: string, destinations = '') => `
destinations:
  slack-sec:
    type: slack
    token: xoxb-1
    channel: "#sec"
${destinations}
routes:
${routes}
`;

describe('config loading', () => {
  it('accepts the shipped example config as it is', () => {
    const config = loadConfigFile(resolve(root, 'config/klaxon.example.yaml'), exampleEnv);
    expect(Object.keys(config.destinations)).toEqual(['slack-sec', 'jira-appsec', 'pagerduty-oncall', 'github-prs', 'siem']);
    expect(config.server.port).toBe(8080);
    expect(config.routes.groupWait).toBe(10_000);
    expect(config.routes.routes.map((r) => r.name)).toEqual(['runtime-incidents', 'fixable-vulns-to-developers', 'build-suggestions', 'everything-to-siem']);
    expect(config.routes.routes[0].match.map((m) => [m.field, m.op, m.value])).toEqual([
      ['kind', '=', 'runtime'],
      ['risk.score', '>=', '80'],
      ['environment', '=', 'production'],
    ]);
    expect(config.routes.routes[0].repeatInterval).toBe(4 * 3_600_000);
    expect(config.destinations['jira-appsec']).toMatchObject({ host: 'jira.example.com', port: 443, project: 'APPSEC' });
    expect(config.gate.failOn).toHaveLength(2);
  });

  it('accepts the shipped example exceptions as they are', () => {
    const exceptions = loadExceptionsFile(resolve(root, 'config/exceptions.example.yaml'), {});
    expect(exceptions.map((e) => e.id)).toEqual(['log4j-dev-accepted', 'privileged-node-agent']);
    expect(exceptions[0].expires?.toISOString()).toBe('2027-01-31T00:00:00.000Z');
    expect(exceptions[1].permanent).toBe(true);
  });

  it('ships copies identical to the normative examples', () => {
    const shared = resolve(root, '../shared/klaxon.example.yaml');
    let normative: string;
    try {
      normative = readFileSync(shared, 'utf8');
    } catch {
      return; // a checkout without the design folder beside it
    }
    expect(readFileSync(resolve(root, 'config/klaxon.example.yaml'), 'utf8')).toContain(normative.split('\n').slice(2).join('\n'));
  });

  it('accepts the default config/klaxon.yaml with no environment at all', () => {
    const config = loadConfigFile(resolve(root, 'config/klaxon.yaml'), {});
    expect(config.redis.url).toBeUndefined();
    expect(config.auth.apiToken).toBeUndefined();
  });

  it('names the path of a missing environment variable', () => {
    const problems = problemsOf(() => loadConfigFile(resolve(root, 'config/klaxon.example.yaml'), { ...exampleEnv, SLACK_BOT_TOKEN: undefined }));
    expect(problems).toContain('destinations.slack-sec.token: environment variable SLACK_BOT_TOKEN is not set');
  });

  it('uses ${VAR:-default} fallbacks and environment values', () => {
    const config = parseConfig(`server:\n  port: \${PORT:-9090}\nroutes: {}\n`, { PORT: '7000' });
    expect(config.server.port).toBe(7000);
    expect(parseConfig(`server:\n  port: \${PORT:-9090}\nroutes: {}\n`, {}).server.port).toBe(9090);
  });

  it.each([
    [
      minimal('  to: [slack-sec]\n  routes:\n    - match: ["severity >= urgent"]'),
      'routes.routes[0].match[0]: unknown level "urgent" (one of info, low, medium, high, critical)',
    ],
    [minimal('  to: [slack-sec]\n  routes:\n    - to: [nowhere]'), 'routes.routes[0].to[0]: unknown destination "nowhere" (declared: slack-sec)'],
    [minimal('  to: [slack-sec]\n  groupWait: soon'), 'routes.groupWait: "soon" is not a duration like 30s, 5m, 4h, 1d'],
    [minimal('  to: [slack-sec]\n  colour: red'), 'routes: unknown key "colour"'],
    [
      minimal('  to: [slack-sec]\n  routes:\n    - match: ["severity high"]'),
      'routes.routes[0].match[0]: "severity high" is not "field op value" with op one of =~ !~ != >= <= = > <',
    ],
    ['destinations:\n  slack-sec:\n    type: slack\n    token: x\nroutes: {}\n', 'destinations.slack-sec.channel: required'],
    [
      'destinations:\n  pd:\n    type: pagerduty\n    routingKey: k\n    eventsUrl: http://127.0.0.1/v2/enqueue\nroutes: {}\n',
      'destinations.pd.eventsUrl: the PagerDuty client speaks only https',
    ],
    ['routes: {}\nredis:\n  host: x\n', 'redis: unknown key "host"'],
  ])('rejects a bad config with the path named (%#)', (text, problem) => {
    expect(problemsOf(() => parseConfig(text, {}))).toContain(problem);
  });

  it('refuses a pattern RE2 cannot run in linear time, naming its path', () => {
    const problems = problemsOf(() => parseConfig(minimal('  to: [slack-sec]\n  routes:\n    - match: ["rule =~ (?!CVE-2021).*"]'), {}));
    expect(problems).toEqual([expect.stringMatching(/^routes\.routes\[0\]\.match\[0\]: invalid regular expression "\(\?!CVE-2021\)\.\*" \(RE2 syntax/)]);
  });

  it('takes API tokens from the environment or a file, never from the config text', () => {
    const tokens = (entry: string) => problemsOf(() => parseConfig(`auth:\n  tokens:\n    - ${entry}\nroutes: {}\n`, {}));
    expect(tokens('{ name: ci, scope: ci, repos: [acme/shop], token: s3cret }')).toContain(
      "auth.tokens[0].token: a token never goes in the config's text: use tokenEnv or tokenFile",
    );
    expect(tokens('{ name: ci, scope: ci, tokenEnv: CI_TOKEN }')).toContain('auth.tokens[0].repos: a ci token names the repositories it may report for');
    expect(tokens('{ name: ops, scope: admin }')).toContain('auth.tokens[0].tokenEnv: one of tokenEnv or tokenFile');
    const config = parseConfig('auth:\n  tokens:\n    - { name: ci, scope: ci, repos: [acme/shop], tokenEnv: CI_TOKEN }\nroutes: {}\n', {});
    expect(resolveCredentials(config.auth, { CI_TOKEN: 'from-env' })).toEqual([{ name: 'ci', scope: 'ci', repos: ['acme/shop'], token: 'from-env' }]);
    expect(problemsOf(() => resolveCredentials(config.auth, {}))).toEqual(['auth.tokens[0].tokenEnv: environment variable CI_TOKEN is not set']);
  });

  it('reports the first YAML syntax error alone, with its line and column', () => {
    const problems = problemsOf(() => parseConfig('routes:\n  to: [a\n  x: {\n  - b\n'.repeat(50), {}));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^YAML 3:3: Flow sequence in block collection must be sufficiently indented/);
  });

  it('refuses credentials in a destination URL, naming its path', () => {
    const text = 'destinations:\n  siem:\n    type: webhook\n    url: https://klaxon:s3cret@siem.example.com/hook\nroutes: {}\n';
    expect(problemsOf(() => parseConfig(text, {}))).toEqual([expect.stringMatching(/^destinations\.siem\.url: credentials in the URL/)]);
  });

  it('without destination types, refuses a config naming a destination rather than leave it unchecked', () => {
    expect(parseWithoutDestinationTypes('routes: {}\n', {}).destinations).toEqual({});
    const problems = problemsOf(() => parseWithoutDestinationTypes(minimal('  to: [slack-sec]'), {}));
    expect(problems).toEqual([expect.stringMatching(/^destinations\.slack-sec\.type: destination types are not known to this parser/)]);
  });

  it('rejects an exception with neither expiry nor permanent', () => {
    const problems = problemsOf(() => parseExceptions('exceptions:\n  - id: x\n    match: ["rule = CVE-1"]\n    reason: r\n    owner: o\n', {}));
    expect(problems).toEqual(['exceptions[0].expires: required unless permanent: true']);
  });
});
