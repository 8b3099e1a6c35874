import { toFinding, type Finding, type Severity } from '@klaxon/findings';
import {
  createDestination,
  defaultDeliveryLimits,
  githubDestinationSchema,
  jiraDestinationSchema,
  pagerdutyDestinationSchema,
  slackDestinationSchema,
  webhookDestinationSchema,
  type DeliveryLedger,
  type Destination,
} from '@klaxon/destinations';
import type { Notification } from '@klaxon/routing';
import { GitHubEmulator } from '../emulators/github.emulator';
import { JiraEmulator } from '../emulators/jira.emulator';
import { DEFAULT_ROUTING_KEY, PagerDutyEmulator } from '../emulators/pagerduty.emulator';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { WebhookEmulator } from '../emulators/webhook.emulator';

/** Notifications per destination; GitHub's client spaces writes by a second (GitHub's own advice), so fewer. */
const COUNT = 300;
const GITHUB_COUNT = 20;
/** The notifier's default worker concurrency per deliver queue. */
const CONCURRENCY = 4;
const FINDINGS_PER_NOTIFICATION = 3;
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

function finding(group: number, i: number): Finding {
  const severities: Severity[] = ['critical', 'high', 'medium'];
  return toFinding({
    kind: 'vulnerability',
    stage: 'build',
    source: { tool: 'trivy', integration: 'report' },
    title: `pkg-${i}: memory corruption`,
    severity: severities[i % severities.length]!,
    rule: { id: `CVE-2024-${10_000 + group * 10 + i}`, references: [`https://nvd.nist.gov/vuln/detail/CVE-2024-${10_000 + group * 10 + i}`] },
    artifact: {
      registry: 'harbor.example.com',
      repository: `shop/svc-${group}`,
      digest: 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f',
    },
    package: { name: `pkg-${i}`, installed: '1.0.0', fixed: i % 2 ? undefined : '1.0.1' },
    code: { repo: 'acme/checkout', commit: COMMIT, pullRequest: 1000 + group },
    fixable: i % 2 === 0,
    observedAt: '2026-11-23T10:00:00Z',
  });
}

/** `count` first notifications of distinct groups: each creates one external object (or one per finding for Jira). */
function notifications(destination: string, count: number, run: string): Notification[] {
  return Array.from({ length: count }, (_, g) => ({
    id: `${run}-${g}`,
    key: `bench/${destination}/${run}/${g}`,
    route: 'bench',
    destination,
    groupLabels: { 'artifact.repository': `shop/svc-${g}` },
    createdAt: '2026-11-23T10:00:00.000Z',
    changes: { new: Array.from({ length: FINDINGS_PER_NOTIFICATION }, (_, i) => finding(g, i)), regressed: [], resolved: [], open: [] },
  }));
}

/** Notifications per second, with a decimal below 10 (GitHub's pacing puts it there). */
function rate(count: number, ms: number): string {
  const perSecond = (count / ms) * 1000;
  return `${perSecond < 10 ? perSecond.toFixed(2) : Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** Sends with `CONCURRENCY` in flight, as the notifier's workers do, and times it. */
async function drive(destination: Destination, list: Notification[]): Promise<{ ms: number; ledgers: DeliveryLedger[] }> {
  const ledgers: DeliveryLedger[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < list.length) {
        const n = list[next++]!;
        ledgers.push(await destination.send(n, undefined));
      }
    }),
  );
  return { ms: performance.now() - started, ledgers };
}

/**
 * Delivery throughput of each destination's official client against its emulator (loopback, so this
 * is Klaxon's rendering plus the client's own overhead and pacing, not a network), then the ceiling
 * the BullMQ limiter of its deliver queue puts on it in production.
 */
export async function run(): Promise<string[]> {
  const slack = await SlackEmulator.start();
  const jira = await JiraEmulator.start();
  const pd = await PagerDutyEmulator.start();
  const gh = await GitHubEmulator.start();
  gh.repos.add('acme/checkout');
  const hook = await WebhookEmulator.start({ secret: 'bench-secret' });
  const cases: Array<{ type: string; count: number; destination: Destination; objects: () => number; what: string }> = [
    {
      type: 'slack',
      count: COUNT,
      destination: createDestination(slackDestinationSchema.parse({ type: 'slack', token: DEFAULT_TOKEN, channel: '#sec-alerts', apiUrl: slack.url })),
      objects: () => slack.roots().length,
      what: 'messages',
    },
    {
      type: 'jira',
      count: COUNT,
      destination: createDestination(
        jiraDestinationSchema.parse({
          type: 'jira',
          protocol: 'http',
          host: jira.host,
          port: jira.port,
          username: jira.username,
          password: jira.password,
          project: 'SEC',
        }),
      ),
      objects: () => jira.issues.length,
      what: 'tickets (one per finding)',
    },
    {
      type: 'pagerduty',
      count: COUNT,
      destination: createDestination(
        pagerdutyDestinationSchema.parse({ type: 'pagerduty', routingKey: DEFAULT_ROUTING_KEY, eventsUrl: pd.eventsUrl, caFile: pd.caFile }),
      ),
      objects: () => pd.allAlerts().length,
      what: 'alerts',
    },
    {
      type: 'github',
      count: GITHUB_COUNT,
      destination: createDestination(githubDestinationSchema.innerType().parse({ type: 'github', token: gh.token, baseUrl: gh.url })),
      objects: () => gh.comments.length,
      what: 'PR comments',
    },
    {
      type: 'webhook',
      count: COUNT,
      destination: createDestination(webhookDestinationSchema.parse({ type: 'webhook', url: hook.url, secret: 'bench-secret' })),
      objects: () => hook.processed().length,
      what: 'deliveries',
    },
  ];

  try {
    const rows: string[] = [];
    for (const c of cases) {
      const { ms } = await drive(c.destination, notifications(c.type, c.count, `run-${Date.now()}`));
      const limit = defaultDeliveryLimits(c.type).rateLimit;
      rows.push(
        [
          c.type,
          String(c.count),
          `${Math.round(ms)} ms`,
          rate(c.count, ms),
          `${c.objects()} ${c.what}`,
          limit ? `${rate(limit.max, limit.per)} (${limit.max} per ${limit.per / 1000} s)` : 'none (concurrency only)',
        ].join(' | '),
      );
    }
    return [
      `Destinations: first notifications of distinct groups (${FINDINGS_PER_NOTIFICATION} findings each), ${CONCURRENCY} in flight, official client → emulator on loopback`,
      ['destination', 'notifications', 'time', 'notifications/s', 'created', 'deliver queue limiter'].join(' | '),
      ...rows,
      'GitHub: plugin-throttling spaces writes by 1 s, and writes that notify people (a new comment) by 3 s, per token as GitHub asks: its rate is that pacing, not the emulator.',
    ];
  } finally {
    await Promise.all([slack.stop(), jira.stop(), pd.stop(), gh.stop(), hook.stop()]);
  }
}
