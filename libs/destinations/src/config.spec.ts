import { describe, expect, it } from 'vitest';
import { ConfigError } from '@klaxon/platform';
import { parseConfig } from './config';
import { supportedDestinationTypes } from './registry';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const ALL_TYPES = `
destinations:
  slack-sec: { type: slack, token: xoxb-1, channel: "#sec" }
  jira-appsec: { type: jira, host: jira.example.com, username: u, password: p, project: SEC }
  pagerduty-oncall: { type: pagerduty, routingKey: k }
  github-prs: { type: github, token: ghs_installation }
  siem: { type: webhook, url: "https://siem.example.com/hook" }
routes: {}
`;

const one = (destination: string) => `destinations:\n  d: ${destination}\nroutes:\n  to: [d]\n`;

describe('destination config', () => {
  it('gives each SaaS type its service’s rate limit and the webhook none', () => {
    const { destinations } = parseConfig(ALL_TYPES, {});
    expect(Object.fromEntries(Object.entries(destinations).map(([name, d]) => [name, d.rateLimit]))).toEqual({
      'slack-sec': { max: 5, per: 5_000 },
      'jira-appsec': { max: 10, per: 1_000 },
      'pagerduty-oncall': { max: 120, per: 60_000 },
      'github-prs': { max: 80, per: 60_000 },
      siem: undefined,
    });
    expect(destinations.siem).not.toHaveProperty('rateLimit');
  });

  it('takes a configured rate limit, its period a duration like the config’s others', () => {
    const slack = parseConfig(one('{ type: slack, token: t, channel: "#c", rateLimit: { max: 1, per: 1s } }'), {}).destinations.d;
    expect(slack.rateLimit).toEqual({ max: 1, per: 1_000 });
    const hook = parseConfig(one('{ type: webhook, url: "https://x.example.com/", rateLimit: { max: 300, per: 1m } }'), {}).destinations.d;
    expect(hook.rateLimit).toEqual({ max: 300, per: 60_000 });
    // The type's own keys keep their defaults beside it.
    expect(slack).toMatchObject({ type: 'slack', apiUrl: 'https://slack.com/api/' });
  });

  it.each([
    ['{ max: 0, per: 1s }', 'destinations.d.rateLimit.max: at least 1'],
    ['{ max: 2.5, per: 1s }', 'destinations.d.rateLimit.max: a whole number of sends'],
    ['{ max: ten, per: 1s }', 'destinations.d.rateLimit.max: a whole number of sends'],
    ['{ max: 5, per: soon }', 'destinations.d.rateLimit.per: "soon" is not a duration like 30s, 5m, 4h, 1d'],
    ['{ max: 5, per: 0s }', 'destinations.d.rateLimit.per: a duration longer than 0'],
    ['{ max: 5 }', 'destinations.d.rateLimit.per: Required'],
    ['{ max: 5, per: 1s, burst: 2 }', 'destinations.d.rateLimit: unknown key "burst"'],
  ])('refuses rateLimit %s, naming the field', (limit, problem) => {
    expect(problemsOf(() => parseConfig(one(`{ type: webhook, url: "https://x.example.com/", rateLimit: ${limit} }`), {}))).toEqual([problem]);
  });

  it('refuses an unknown type at start-up with the supported ones, and reports every destination’s problems at once', () => {
    const problems = problemsOf(() =>
      parseConfig(
        'destinations:\n  teams-sec: { type: teams, url: "https://x.example.com/" }\n  slack-sec: { type: slack, channel: "#c" }\nroutes:\n  to: [teams-sec, slack-sec]\n',
        {},
      ),
    );
    expect(supportedDestinationTypes()).toEqual(expect.arrayContaining(['slack', 'jira', 'pagerduty', 'github', 'webhook']));
    // Routes naming a broken destination are not reported as unknown destinations on top.
    expect(problems).toEqual([
      `destinations.teams-sec.type: unknown destination type "teams" (supported: ${supportedDestinationTypes().join(', ')})`,
      'destinations.slack-sec.token: required',
    ]);
  });

  it('checks each type’s own keys, naming destinations.<name>.<field>', () => {
    expect(problemsOf(() => parseConfig(one('{ type: slack, token: t, channel: "#c", colour: red }'), {}))).toEqual(['destinations.d: unknown key "colour"']);
    expect(problemsOf(() => parseConfig(one('{ type: github, token: ghp_personal, checkRuns: true }'), {}))).toEqual([
      expect.stringMatching(/^destinations\.d\.checkRuns: only a GitHub App may create check runs/),
    ]);
    expect(problemsOf(() => parseConfig(one('{ url: "https://x.example.com/" }'), {}))).toEqual(['destinations.d.type: required']);
    expect(problemsOf(() => parseConfig(one('{ type: webhook, url: not-a-url }'), {}))).toEqual(['destinations.d.url: Invalid url']);
  });

  it('refuses a destination name that cannot name its queue', () => {
    expect(problemsOf(() => parseConfig('destinations:\n  "a:b": { type: webhook, url: "https://x.example.com/" }\nroutes: {}\n', {}))).toEqual([
      'destinations.a:b: a destination name is letters, digits, ".", "_" and "-" (it names the queue deliver.<name>)',
    ]);
  });
});
