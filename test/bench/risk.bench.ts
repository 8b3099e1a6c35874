import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { toFinding, type Asset, type Batch } from '@klaxon/findings';
import { startEmbeddedRedis } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { GroupRepository, groupChanges } from '@klaxon/routing';
import { parseInput } from '@klaxon/sources';
import { AssetRepository, CorrelateFindings, FindingRepository } from '@klaxon/triage';
import { redisCommandCount, syntheticTrivyReport } from './support';

const FINDINGS = 10_000;
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const PREFIX = 'bench-risk';

const config = parseConfig(`
context:
  environments:
    - match: ["namespace =~ prod-.*"]
      environment: production
destinations:
  slack-sec: { type: slack, token: xoxb-bench, channel: "#sec" }
  jira: { type: slack, token: xoxb-bench, channel: "#jira" }
routes:
  to: [slack-sec]
  routes:
    - name: risky-vulns
      match: ["kind = vulnerability", "risk >= 60"]
      to: [jira]
      groupBy: [artifact.repository]
      continue: true
`);

const minute = (m: number) => new Date(Date.UTC(2026, 10, 23, 10, m));
const podLabels = { 'app.kubernetes.io/name': 'checkout' };

function workload(at: string): Asset[] {
  return [
    { type: 'namespace', cluster: 'prod-eu-1', name: 'prod-shop', labels: { team: 'payments' }, observedAt: at },
    {
      type: 'workload',
      cluster: 'prod-eu-1',
      namespace: 'prod-shop',
      kind: 'Deployment',
      name: 'checkout',
      labels: podLabels,
      podLabels,
      containers: [{ name: 'checkout', image: `harbor.example.com/shop/checkout@${DIGEST}` }],
      observedAt: at,
    },
  ];
}

const exposure = (at: string): Asset[] => [
  {
    type: 'service',
    cluster: 'prod-eu-1',
    namespace: 'prod-shop',
    name: 'checkout',
    serviceType: 'ClusterIP',
    selector: podLabels,
    ports: [],
    externalAddresses: [],
    labels: {},
    observedAt: at,
  },
  {
    type: 'ingress',
    cluster: 'prod-eu-1',
    namespace: 'prod-shop',
    name: 'checkout',
    hosts: ['shop.example.com'],
    tls: true,
    backends: [{ service: 'checkout', port: 80 }],
    labels: {},
    observedAt: at,
  },
];

const shell = (at: string) =>
  toFinding({
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'falco', integration: 'webhook:falco' },
    title: 'Terminal shell in container in prod-shop/checkout',
    severity: 'low',
    rule: { id: 'Terminal shell in container', name: 'Terminal shell in container' },
    artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2' },
    workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c5b6f4-x2k8p', container: 'checkout' },
    fixable: false,
    observedAt: at,
  });

/**
 * The cost of a context change: 10,000 stored vulnerabilities of one image running in a prod
 * Deployment; then an Ingress exposes it, then a shell is opened in it. Each step is timed from the
 * batch entering correlation until the findings whose routes changed are in their routing groups
 * (what the triage and route workers do; delivery is not counted).
 */
export async function run(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-bench-'));
  const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
  const redis = new IORedis(redisServer.url, { maxRetriesPerRequest: null });
  const findings = new FindingRepository(redis, PREFIX);
  const correlate = new CorrelateFindings(new AssetRepository(redis, PREFIX), findings, config);
  const groups = new GroupRepository(redis, PREFIX);
  const step = async (batch: Batch, at: Date, cause: string) => {
    const result = await correlate.execute(batch, at);
    await findings.upsert(
      result.batch.findings.map((finding) => ({ finding })),
      at,
      cause,
    );
    await groups.add(
      groupChanges(
        config.routes,
        result.rescored.map((r) => ({ ...r, eventId: cause })),
      ),
      at,
    );
    return result;
  };

  try {
    const report = syntheticTrivyReport(FINDINGS, DIGEST);
    const scan = parseInput(report, 'trivy', { eventId: 'evt-scan', receivedAt: minute(0).toISOString(), integration: 'report', context: {} }).batch;
    await step({ findings: [], assets: workload(minute(0).toISOString()), scopes: [] }, minute(0), 'evt-cluster');
    await step(scan, minute(1), 'evt-scan');

    const rows: string[][] = [];
    const changes: [string, Batch][] = [
      ['an Ingress exposes the workload', { findings: [], assets: exposure(minute(2).toISOString()), scopes: [] }],
      ['a shell is opened in it', { findings: [shell(minute(3).toISOString())], assets: [], scopes: [] }],
    ];
    for (const [i, [name, batch]] of changes.entries()) {
      const before = await redisCommandCount(redis);
      const started = performance.now();
      const result = await step(batch, minute(2 + i), `evt-change-${i}`);
      const ms = performance.now() - started;
      const commands = (await redisCommandCount(redis)) - before;
      rows.push([
        name,
        String(result.rescoredCount),
        String(result.rescored.length),
        `${Math.round(ms)} ms`,
        (commands / Math.max(result.rescoredCount, 1)).toFixed(2),
      ]);
    }
    return [
      `Risk: a context change around ${FINDINGS.toLocaleString('en-US')} stored vulnerabilities of one image (re-score, then re-route those whose routes changed into their groups)`,
      ['context change', 'rescored', 're-routed', 'time', 'redis cmds/rescored'].join(' | '),
      ...rows.map((r) => r.join(' | ')),
    ];
  } finally {
    await redis.quit();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
