import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GITHUB_TOKEN, GitHubEmulator } from '../emulators/github.emulator';
import { JiraEmulator } from '../emulators/jira.emulator';
import { DEFAULT_ROUTING_KEY, PagerDutyEmulator } from '../emulators/pagerduty.emulator';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { WebhookEmulator } from '../emulators/webhook.emulator';
import { DAY, DAY_GITHUB_SECRET, DAY_SENSOR_TOKEN, dayHeaders, type DayInput } from '../support/correlation-day';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

type Json = Record<string, any>;

/** The morning after the attack: every input of the day is within the risk windows. */
const START = Date.parse('2026-11-23T10:00:00Z');

interface Emulators {
  slack: SlackEmulator;
  pagerduty: PagerDutyEmulator;
  jira: JiraEmulator;
  github: GitHubEmulator;
  siem: WebhookEmulator;
}

/** config/klaxon.example.yaml against the emulators, with the waits shortened so a run settles in seconds. */
const config = (e: Emulators) => `
server:
  maxBodyBytes: 26214400
sources:
  github:
    secret: ${DAY_GITHUB_SECRET}
  falco: { token: ${DAY_SENSOR_TOKEN} }
  tetragon: { token: ${DAY_SENSOR_TOKEN} }
  stackrox: { token: ${DAY_SENSOR_TOKEN} }
  registry: { token: ${DAY_SENSOR_TOKEN} }
  kubernetes:
    clusterName: prod-eu-1
context:
  environments:
    - match: ["namespace =~ prod-.*"]
      environment: production
    - match: ["namespace =~ (dev|test)-.*"]
      environment: development
  ownerLabels: [team, owner, app.kubernetes.io/part-of]
destinations:
  slack-sec:
    type: slack
    token: ${DEFAULT_TOKEN}
    channel: "#sec-alerts"
    apiUrl: ${e.slack.url}
  jira-appsec:
    type: jira
    protocol: http
    host: ${e.jira.host}
    port: ${e.jira.port}
    username: ${e.jira.username}
    password: ${e.jira.password}
    project: SEC
    issueType: Bug
  pagerduty-oncall:
    type: pagerduty
    routingKey: ${DEFAULT_ROUTING_KEY}
    eventsUrl: ${e.pagerduty.eventsUrl}
    caFile: ${e.pagerduty.caFile}
  github-prs:
    type: github
    token: ${DEFAULT_GITHUB_TOKEN}
    baseUrl: ${e.github.url}
  siem:
    type: webhook
    url: ${e.siem.url}
routes:
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 24h
  to: [slack-sec]
  routes:
    - name: runtime-incidents
      match: ["kind = runtime", "risk >= 80", "environment = production"]
      to: [pagerduty-oncall, slack-sec]
      groupBy: [workload]
      groupWait: 0s
      repeatInterval: 4h
      continue: true
    - name: fixable-vulns-to-developers
      match: ["kind = vulnerability", "fixable = true", "severity >= high"]
      to: [jira-appsec, github-prs]
      groupBy: [artifact.repository]
      continue: true
    - name: build-suggestions
      match: ["kind = suggestion"]
      to: [github-prs, jira-appsec]
    - name: everything-to-siem
      match: ["severity >= low"]
      to: [siem]
      continue: true
`;

interface Outcome {
  rawFindings: number;
  findings: Record<string, string>;
  open: number;
  suggestions: string[];
  /** What GET /v1/suggestions consolidates them into: tier, title and the rules of each proposal. */
  proposals: { tier: string; title: string; rules: string[] }[];
  /** Jira tickets opened for suggestions (label klaxon-suggestion), by summary. */
  suggestionTickets: string[];
  incidents: number;
  prComments: { id: number; body: string }[];
  jiraIssues: number;
  slackMessages: number;
  siemDeliveries: number;
}

/** Posts the inputs one after another (each triaged before the next), then waits until nothing moves. */
async function runDay(inputs: readonly DayInput[]): Promise<Outcome> {
  const e: Emulators = {
    slack: await SlackEmulator.start(),
    pagerduty: await PagerDutyEmulator.start(),
    jira: await JiraEmulator.start(),
    github: await GitHubEmulator.start(),
    siem: await WebhookEmulator.start(),
  };
  const started = Date.now();
  const klaxon: TestKlaxon = await startTestKlaxon(config(e), { clock: () => new Date(START + (Date.now() - started)) });
  try {
    const json = async (path: string) => {
      const res = await klaxon.api(path);
      expect(res.status, path).toBe(200);
      return (await res.json()) as Json;
    };
    let rawFindings = 0;
    for (const input of inputs) {
      const res = await klaxon.api(`/v1/${input.path}`, { method: 'POST', body: input.body, headers: dayHeaders(input) });
      expect(res.status, input.name).toBe(202);
      const { eventId } = (await res.json()) as { eventId: string };
      const event = await waitFor(
        async () => {
          const ev = await json(`/v1/events/${eventId}`);
          return ev.triage || ev.status === 'ignored' || ev.status === 'quarantined' ? ev : undefined;
        },
        `triage of ${input.name}`,
        30_000,
      );
      expect(event.status, `${input.name}: ${JSON.stringify(event.error)}`).not.toBe('quarantined');
      rawFindings += event.parsed?.findings ?? 0;
    }
    await settled(klaxon, e);
    const items: Json[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await json(`/v1/findings?limit=500&offset=${offset}`);
      items.push(...(page.items as Json[]));
      if (page.items.length < 500) break;
    }
    const findings = Object.fromEntries(items.map((f) => [f.fingerprint, f.state as string]));
    const list = await json('/v1/suggestions?limit=500');
    const suggestions = (list.items as Json[]).map((s) => s.id as string).sort();
    const proposals = (list.proposals as Json[])
      .map((p) => ({ tier: p.tier as string, title: p.title as string, rules: (p.sections as Json[]).map((s) => s.rule as string) }))
      .sort((a, b) => a.title.localeCompare(b.title));
    return {
      rawFindings,
      findings,
      open: Object.values(findings).filter((s) => s === 'open').length,
      suggestions,
      proposals,
      suggestionTickets: e.jira.issues
        .filter((i) => i.fields.labels.includes('klaxon-suggestion'))
        .map((i) => i.fields.summary as string)
        .sort(),
      incidents: e.pagerduty.allAlerts().reduce((n, a) => n + a.incidents, 0),
      prComments: e.github.commentsOn('acme/checkout', 42).map((c) => ({ id: c.id, body: c.body })),
      jiraIssues: e.jira.issues.length,
      slackMessages: e.slack.messages.length,
      siemDeliveries: e.siem.deliveries.length,
    };
  } finally {
    await klaxon.close();
    await Promise.all([e.slack.stop(), e.pagerduty.stop(), e.jira.stop(), e.github.stop(), e.siem.stop()]);
  }
}

/** No job waiting or running, no group flush due within seconds, and the destinations unchanged over a second. */
async function settled(klaxon: TestKlaxon, e: Emulators): Promise<void> {
  const snapshot = () =>
    JSON.stringify([e.slack.messages.length, e.pagerduty.events.length, e.jira.issues.length, e.github.comments.map((c) => c.body), e.siem.deliveries.length]);
  let last = '';
  await waitFor(
    async () => {
      await new Promise((r) => setTimeout(r, 1000));
      for (const queue of klaxon.runtime.queues.allQueues()) {
        const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
        if (counts.waiting + counts.active + counts.prioritized > 0) return undefined;
        const soon = (await queue.getDelayed()).filter((j) => j.timestamp + (j.opts.delay ?? 0) < Date.now() + 5_000);
        if (soon.length) return undefined;
      }
      const now = snapshot();
      const stable = now === last;
      last = now;
      return stable || undefined;
    },
    'the pipeline to settle',
    120_000,
  );
}

describe('one day of one image, posted in order and in reverse to two fresh instances, ends the same', () => {
  let forward: Outcome;
  let reverse: Outcome;

  beforeAll(async () => {
    forward = await runDay(DAY);
    reverse = await runDay([...DAY].reverse());
    // The figures of the closing note: raw findings in, notifications out per destination, suggestions, open findings.
    const figures = (o: Outcome) => ({
      rawFindings: o.rawFindings,
      findings: Object.keys(o.findings).length,
      open: o.open,
      suggestions: o.suggestions.length,
      proposals: o.proposals.length,
      suggestionTickets: o.suggestionTickets.length,
      pagerdutyIncidents: o.incidents,
      prComments: o.prComments.length,
      jiraIssues: o.jiraIssues,
      slackMessages: o.slackMessages,
      siemDeliveries: o.siemDeliveries,
    });
    console.log(JSON.stringify({ forward: figures(forward), reverse: figures(reverse) }));
  }, 600_000);

  it('holds the same findings in the same states', () => {
    expect(reverse.findings).toEqual(forward.findings);
  });

  it('pages exactly once for the attack', () => {
    expect(forward.incidents).toBe(1);
    expect(reverse.incidents).toBe(1);
  });

  it('keeps exactly one sticky comment on PR 42 with the fixable criticals and the runtime-derived proposal', () => {
    for (const o of [forward, reverse]) {
      expect(o.prComments).toHaveLength(1);
      const [comment] = o.prComments;
      expect(comment.body).toContain('CVE-2024-5535');
      expect(comment.body).toMatch(/Hardening (suggestions|proposal)/);
      expect(comment.body).toContain('ClusterPolicy');
      // The proposal for the attacked workload, once, with every rule a section of it.
      expect(comment.body.match(/^## .*Hardening proposal — `prod-shop\/deployment\/checkout`/gm)).toHaveLength(1);
      expect(comment.body.match(/^### \d+\. /gm)?.length).toBe(5);
    }
  });

  it('consolidates the suggestions into one proposal for the attacked workload, the debug pod’s weak detection apart', () => {
    for (const o of [forward, reverse]) {
      expect(o.proposals).toEqual([
        { tier: 'proposal', title: 'Hardening proposal for Deployment prod-shop/checkout', rules: expect.any(Array) },
        { tier: 'lower', title: 'Lower-priority hardening for Pod dev-shop/debug', rules: ['restrict-egress'] },
      ]);
      expect([...o.proposals[0].rules].sort()).toEqual([
        'drop-privileges',
        'image-and-deploy-checks',
        'read-only-root-filesystem',
        'remove-shells-and-block-exec',
        'restrict-egress',
      ]);
    }
    expect(reverse.proposals).toEqual(forward.proposals);
  });

  it('opens one Jira ticket per proposal, not one per rule', () => {
    // A ticket's summary is written when it is opened: in an order where the config audit comes first the
    // proposal starts as a medium deploy-time one, so only what it is about is compared.
    for (const o of [forward, reverse]) {
      expect(o.suggestionTickets).toHaveLength(2);
      expect(o.suggestionTickets).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\[(high|medium)\] Hardening proposal for Deployment prod-shop\/checkout /),
          expect.stringMatching(/^\[low\] Lower-priority hardening for Pod dev-shop\/debug /),
        ]),
      );
    }
  });

  it('makes the same suggestions', () => {
    expect(forward.suggestions.length).toBeGreaterThan(0);
    expect(reverse.suggestions).toEqual(forward.suggestions);
  });

  it('opens as many tickets either way', () => {
    expect(reverse.jiraIssues).toBe(forward.jiraIssues);
  });
});
