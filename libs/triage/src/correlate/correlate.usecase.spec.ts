import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Asset, type Batch, type Finding, type FindingDraft } from '@klaxon/findings';
import { parseConfig } from '@klaxon/destinations';
import { parseInput } from '@klaxon/sources';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { AssetRepository } from '../assets/asset.repository';
import { FindingRepository } from '../finding.repository';
import { CorrelateFindings, routingSignature } from './correlate.usecase';

const D = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const IMAGE = 'harbor.example.com/shop/checkout:1.4.2';
const CLUSTER = 'prod-eu-1';
const PROD = `${CLUSTER}/prod-shop/Deployment/checkout`;
const DEV = `${CLUSTER}/dev-shop/Deployment/checkout`;

const config = parseConfig(`
context:
  environments:
    - match: ["namespace =~ prod-.*"]
      environment: production
    - match: ["namespace =~ (dev|test)-.*"]
      environment: development
destinations:
  slack-sec: { type: slack, token: xoxb-test, channel: "#sec" }
  pager: { type: slack, token: xoxb-test, channel: "#pager" }
routes:
  to: [slack-sec]
  routes:
    - name: runtime-incidents
      match: ["kind = runtime", "risk >= 80", "environment = production"]
      to: [pager]
    - name: risky-vulns
      match: ["kind = vulnerability", "risk >= 80"]
      to: [pager]
`);

const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 16, minute));
const iso = (minute: number) => at(minute).toISOString();

function trivyBatch(): Batch {
  const raw = readFileSync(resolve(__dirname, '../../../../test/fixtures/trivy/image-checkout.json'), 'utf8');
  return parseInput(raw, 'trivy', {
    eventId: 'evt-trivy',
    receivedAt: iso(0),
    integration: 'report',
    context: { repo: 'acme/checkout', commit: COMMIT, pr: 42 },
  }).batch;
}

/** A namespace with its Deployment `checkout`, one running pod (digest D from its status), a Service and optionally an Ingress. */
function cluster(namespace: string, { ingress, minute = 1 }: { ingress: boolean; minute?: number }): Asset[] {
  const observedAt = iso(minute);
  const podLabels = { app: 'checkout' };
  return [
    { type: 'namespace', cluster: CLUSTER, name: namespace, labels: { team: 'payments' }, observedAt },
    {
      type: 'workload',
      cluster: CLUSTER,
      namespace,
      kind: 'Deployment',
      name: 'checkout',
      labels: { app: 'checkout', 'app.kubernetes.io/part-of': 'shop' },
      podLabels,
      containers: [{ name: 'checkout', image: IMAGE }],
      security: { hostPaths: [], capabilitiesAdded: [] },
      observedAt,
    },
    {
      type: 'workload',
      cluster: CLUSTER,
      namespace,
      kind: 'Pod',
      name: 'checkout-7d9c5b6f4-x2k8p',
      labels: podLabels,
      containers: [{ name: 'checkout', image: IMAGE, digest: D }],
      controller: { kind: 'Deployment', name: 'checkout', derived: true },
      observedAt,
    },
    {
      type: 'service',
      cluster: CLUSTER,
      namespace,
      name: 'checkout',
      serviceType: 'ClusterIP',
      selector: podLabels,
      ports: [{ port: 80 }],
      externalAddresses: [],
      labels: {},
      observedAt,
    },
    ...(ingress
      ? [
          {
            type: 'ingress' as const,
            cluster: CLUSTER,
            namespace,
            name: 'checkout',
            hosts: ['shop.example.com'],
            tls: true,
            backends: [{ service: 'checkout', port: 80, host: 'shop.example.com', path: '/checkout' }],
            labels: {},
            observedAt,
          },
        ]
      : []),
  ];
}

/** A Falco event as the Falco parser reads it: namespace and pod, Deployment derived from the pod name, no digest. */
function shell(namespace: string, minute: number): Finding {
  const draft: FindingDraft = {
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'falco', integration: 'webhook:falco' },
    title: `Terminal shell in container in ${namespace}/checkout`,
    severity: 'low',
    toolSeverity: 'Notice',
    rule: { id: 'Terminal shell in container', name: 'Terminal shell in container' },
    artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2' },
    workload: { namespace, kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c5b6f4-x2k8p', container: 'checkout' },
    fixable: false,
    observedAt: iso(minute),
  };
  return toFinding(draft);
}

describe('correlation against Redis: from build to runtime', () => {
  let redis: Redis;
  let prefix: string;
  let assets: AssetRepository;
  let findings: FindingRepository;
  let correlate: CorrelateFindings;

  /** What the triage step does around correlation: enrich, then store. */
  const run = async (batch: Batch, minute: number) => {
    const result = await correlate.execute(batch, at(minute));
    await findings.upsert(
      result.batch.findings.map((finding) => ({ finding })),
      at(minute),
      `evt-${minute}`,
    );
    return result;
  };

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('correlate');
    assets = new AssetRepository(redis, prefix);
    findings = new FindingRepository(redis, prefix);
    correlate = new CorrelateFindings(assets, findings, config);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  const opensslCritical = (batch: Batch) => batch.findings.find((f) => f.rule.id === 'CVE-2024-5535' && f.package?.name === 'openssl')!;

  it('scores a scanned image that runs nowhere on what the scan says, and remembers who built it', async () => {
    const { batch } = await run(trivyBatch(), 0);
    const vuln = opensslCritical(batch);
    expect(vuln.fixable).toBe(true);
    expect(vuln.risk!.reasons).toEqual([expect.stringMatching(/^\+\d+ critical severity/), expect.stringMatching(/^\+5 fix available: openssl /)]);
    expect(vuln.environment).toBeUndefined();
    expect(vuln.labels).toMatchObject({ repo: 'acme/checkout', commit: COMMIT, pr: '#42' });
    const image = (await assets.images([D])).get(D);
    expect(image?.build).toMatchObject({ repo: 'acme/checkout', commit: COMMIT, pullRequests: [42] });
  });

  it('a cluster snapshot where D runs behind an Ingress in prod raises its vulnerabilities and re-routes those that cross a route', async () => {
    const before = (await assets.risks([opensslCritical(trivyBatch()).fingerprint])).get(opensslCritical(trivyBatch()).fingerprint)!;
    const result = await run({ findings: [], assets: [...cluster('prod-shop', { ingress: true }), ...cluster('dev-shop', { ingress: false })], scopes: [] }, 2);
    expect(result.rescoredCount).toBeGreaterThan(50);

    const fp = opensslCritical(trivyBatch()).fingerprint;
    const after = (await assets.risks([fp])).get(fp)!;
    expect(after.score).toBeGreaterThan(before.score);
    expect(after.reasons).toEqual(
      expect.arrayContaining([
        `+10 running in ${CLUSTER}/prod-shop Deployment checkout`,
        '+15 production environment',
        '+20 internet-facing via Ingress prod-shop/checkout',
      ]),
    );
    expect(after).toMatchObject({ environment: 'production', exposure: 'internet' });
    expect(after.workloads.map((w) => w.id).sort()).toEqual([DEV, PROD]);

    // The finding store agrees: the stored finding reads its new risk, and the risk filter finds it.
    const stored = (await findings.get(fp))!;
    expect(stored).toMatchObject({ risk: { score: after.score, reasons: after.reasons }, environment: 'production', exposure: 'internet' });
    expect((await findings.query({ minRisk: after.score }, 0, 500)).fingerprints).toContain(fp);
    expect((await findings.query({ minRisk: before.score + 1, kind: ['vulnerability'] }, 0, 500)).fingerprints).toContain(fp);
    expect((await findings.query({ minRisk: after.score + 1 }, 0, 500)).fingerprints).not.toContain(fp);

    // Only the findings whose routes changed come back, each carrying its new risk.
    expect(result.rescored.length).toBeGreaterThan(0);
    for (const { finding: f } of result.rescored) {
      expect(f.kind).toBe('vulnerability');
      expect(f.risk!.score).toBeGreaterThanOrEqual(80);
      expect(f.state).toBe('open');
    }
    expect(result.rescored.map((r) => r.finding.fingerprint)).toContain(fp);
    // Findings that stay on the same routes are rescored silently: a low one stays below 80.
    expect(result.rescored.length).toBeLessThan(result.rescoredCount);

    // The same snapshot again changes nothing, so nothing is scored or routed again.
    const again = await run({ findings: [], assets: cluster('prod-shop', { ingress: true, minute: 3 }), scopes: [] }, 3);
    expect(again).toMatchObject({ rescored: [], rescoredCount: 0 });
  });

  it('a shell in the prod pod, known only by pod and tag, links through the workload and becomes an incident carrying both sides', async () => {
    const result = await run({ findings: [shell('prod-shop', 10)], assets: [], scopes: [] }, 14);
    const detection = result.batch.findings[0];
    expect(detection.risk!.score).toBeGreaterThanOrEqual(80);
    expect(detection.risk!.reasons).toEqual([
      '+5 low severity',
      expect.stringMatching(/^\+35 vulnerable image shipped by acme\/checkout PR #42 @ 4e1f0c2a9b8d: critical CVE-\S+ in \S+, fix .+ \(\+\d+ more\)$/),
      `+10 running in ${CLUSTER}/prod-shop Deployment checkout (linked by workload)`,
      '+15 production environment',
      '+20 internet-facing via Ingress prod-shop/checkout',
    ]);
    expect(detection).toMatchObject({
      environment: 'production',
      exposure: 'internet',
      artifact: { repository: 'shop/checkout', digest: D },
      code: { repo: 'acme/checkout', commit: COMMIT, pullRequest: 42 },
      labels: { team: 'payments', repo: 'acme/checkout', pr: '#42', commit: COMMIT },
    });
    const correlation = detection.raw!.correlation as { linkedBy: string; vulnerablePackages: { id: string; package: string; fixed?: string }[] };
    expect(correlation.linkedBy).toBe('workload');
    expect(correlation.vulnerablePackages).toContainEqual(expect.objectContaining({ id: 'CVE-2024-5535', package: 'openssl', fixed: expect.any(String) }));
    expect(correlation.vulnerablePackages.every((v) => v.fixed)).toBe(true);

    // Every vulnerability of the prod workload now reads the shell as runtime activity.
    const fp = opensslCritical(trivyBatch()).fingerprint;
    const vuln = (await assets.risks([fp])).get(fp)!;
    expect(vuln.reasons).toContain('+25 runtime: Terminal shell in container 4 min ago');
    expect(vuln.score).toBe(100);
    // Those the shell lifted over the risky-vulns route's 80 are routed again; openssl was already there.
    expect(result.rescored.length).toBeGreaterThan(0);
    for (const { finding: f } of result.rescored) expect(f.risk!.reasons).toContain('+25 runtime: Terminal shell in container 4 min ago');
    expect(result.rescored.map((r) => r.finding.fingerprint)).not.toContain(fp);
  });

  it('the same shell in the unexposed dev twin stays below paging', async () => {
    const { batch } = await run({ findings: [shell('dev-shop', 20)], assets: [], scopes: [] }, 21);
    const detection = batch.findings[0];
    expect(detection.environment).toBe('development');
    expect(detection.exposure).toBe('internal');
    expect(detection.risk!.score).toBeLessThan(80);
    expect(detection.risk!.reasons.some((r) => r.includes('internet-facing'))).toBe(false);
  });

  it('a runtime event the cluster never described is linked by tag, and says so', async () => {
    const stray = toFinding({
      ...shell('staging-shop', 30),
      workload: { namespace: 'staging-shop', kind: 'Deployment', name: 'checkout-canary', pod: 'checkout-canary-5c8d7b9f6-q4w2z', container: 'app' },
    });
    const { batch } = await run({ findings: [stray], assets: [], scopes: [] }, 31);
    const detection = batch.findings[0];
    expect((detection.raw!.correlation as { linkedBy: string }).linkedBy).toBe('tag');
    expect(detection.artifact?.digest).toBe(D);
    expect(detection.risk!.reasons).toContain('+10 running in staging-shop Deployment checkout-canary (linked by tag)');
    // The graph learns the workload from the event, with the image it named.
    const learnt = await assets.workloads(['/staging-shop/Deployment/checkout-canary']);
    expect(learnt.get('/staging-shop/Deployment/checkout-canary')?.images).toEqual([
      { container: 'app', repository: 'shop/checkout', tag: '1.4.2', digest: D, linkedBy: 'tag' },
    ]);
  });

  it('an alert that names a workload but no container or image teaches the workload with no image', async () => {
    const { artifact: _, ...draft } = shell('staging-shop', 33);
    const alert = toFinding({ ...draft, workload: { namespace: 'staging-shop', kind: 'Deployment', name: 'batch' } });
    await run({ findings: [alert], assets: [], scopes: [] }, 33);
    const learnt = (await assets.workloads(['/staging-shop/Deployment/batch'])).get('/staging-shop/Deployment/batch');
    expect(learnt).toMatchObject({ namespace: 'staging-shop', name: 'batch', images: [], learnedFrom: 'runtime' });
  });

  it('a workload that leaves the cluster stops counting, and a rescan without the CVE stops raising the detection', async () => {
    const fp = opensslCritical(trivyBatch()).fingerprint;
    const gone = cluster('prod-shop', { ingress: true, minute: 40 }).map((a) => (a.type === 'workload' ? { ...a, deleted: true } : a));
    await run({ findings: [], assets: gone, scopes: [] }, 40);
    const vuln = (await assets.risks([fp])).get(fp)!;
    expect(vuln.workloads.map((w) => w.id)).not.toContain(PROD);
    expect(vuln.environment).not.toBe('production');

    // An empty complete scan of D: the dev pod's next shell finds no vulnerable package to blame.
    const empty = readFileSync(resolve(__dirname, '../../../../test/fixtures/trivy/empty.json'), 'utf8');
    await run(parseInput(empty, 'trivy', { eventId: 'evt-empty', receivedAt: iso(41), integration: 'report', context: {} }).batch, 41);
    const { batch } = await run({ findings: [shell('dev-shop', 42)], assets: [], scopes: [] }, 42);
    expect(batch.findings[0].risk!.reasons.some((r) => r.includes('vulnerable image'))).toBe(false);
  });
});

describe('routingSignature', () => {
  const draft: FindingDraft = {
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'falco', integration: 'webhook:falco' },
    title: 'Terminal shell in container',
    severity: 'high',
    rule: { id: 'Terminal shell in container' },
    fixable: false,
    observedAt: iso(0),
  };
  const signature = routingSignature(config.routes);

  it('names the routes a finding matches and what it belongs to, leaving out the parts it lacks at the end', () => {
    expect(signature(toFinding(draft))).toBe('root|[]');
    expect(signature(toFinding({ ...draft, code: { repo: 'acme/checkout' } }))).toBe('root|["acme/checkout"]');
    expect(signature(toFinding({ ...draft, artifact: { repository: 'shop/checkout', digest: D } }))).toBe(`root|[null,null,null,null,"${D}"]`);
  });
});
