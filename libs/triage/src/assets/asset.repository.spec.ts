import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import type { WorkloadAsset } from '@klaxon/findings';
import { AssetRepository, storedWorkload, workloadOf, type RiskRecord } from './asset.repository';
import { workloadId, type WorkloadFacts } from './facts';
import { decodeStoredJson } from '../stored-json';

/** An asset graph under a key prefix of its own for one describe block, dropped after it. */
function graphFor(name: string) {
  const redis = testRedis();
  const prefix = testPrefix(name);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });
  return { redis, prefix, assets: new AssetRepository(redis, prefix) };
}

describe('a finding’s last risk in the asset graph', () => {
  const { redis, prefix, assets } = graphFor('risk');
  const D = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
  const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

  const record: RiskRecord = {
    score: 85,
    reasons: ['+35 critical severity', '+25 exposed through LoadBalancer shop/checkout', '+10 running in shop Deployment checkout (linked by digest)'],
    at: '2026-11-25T10:00:00.000Z',
    environment: 'prod',
    exposure: 'internet',
    linkedBy: 'digest',
    workloads: [
      { id: 'prod/shop/Deployment/checkout', environment: 'prod', exposedVia: ['LoadBalancer shop/checkout'], owners: { team: 'payments' } },
      { id: 'prod/shop/Deployment/checkout-canary', environment: 'prod', exposedVia: [], owners: {} },
    ],
  };

  it('is read back as it was saved, compressed, keeping no empty exposure or owners', async () => {
    await assets.saveRisk(new Map([['fp-1', record]]));
    expect((await assets.risks(['fp-1', 'fp-none'])).get('fp-1')).toEqual(record);
    expect(await assets.risks(['fp-none'])).toEqual(new Map());
    const kept = (await redis.getBuffer(`${prefix}:graph:risk:fp-1`))!;
    const stored = decodeStoredJson(kept) as RiskRecord;
    expect(stored.workloads[1]).toEqual({ id: 'prod/shop/Deployment/checkout-canary', environment: 'prod' });
    expect(kept.length).toBeLessThan(JSON.stringify(stored).length * 0.75);
  });

  it('describes the finding’s context: its own digest when linked by it, who built the image from the image’s facts', async () => {
    await assets.recordAssets(
      [
        {
          type: 'image',
          digest: D,
          repository: 'shop/checkout',
          tags: [],
          labels: {},
          build: { repo: 'acme/checkout', commit: COMMIT, pullRequests: [42] },
          observedAt: '2026-11-25T09:00:00Z',
        },
      ],
      new Date('2026-11-25T09:00:00Z'),
    );
    expect(await assets.describeContext('fp-1', D)).toEqual({
      risk: { score: 85, reasons: record.reasons, at: record.at },
      environment: 'prod',
      exposure: 'internet',
      image: { digest: D, linkedBy: 'digest' },
      builtFrom: expect.objectContaining({ repo: 'acme/checkout', commit: COMMIT, pullRequests: [42] }),
      runsIn: record.workloads,
    });
    // Linked through its workload: the digest is the record's.
    await assets.saveRisk(new Map([['fp-2', { ...record, linkedBy: 'workload', digest: D }]]));
    expect(await assets.describeContext('fp-2', undefined)).toMatchObject({ image: { digest: D, linkedBy: 'workload' }, builtFrom: { repo: 'acme/checkout' } });
    expect(await assets.describeContext('fp-none', D)).toBeUndefined();
  });

  it('describes a record an earlier version kept, with its digest and build, as it was', async () => {
    const build = { repo: 'acme/legacy', commit: COMMIT, pullRequests: [7] };
    const other = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
    await redis.set(`${prefix}:graph:risk:fp-old`, JSON.stringify({ ...record, digest: other, build }));
    expect(await assets.describeContext('fp-old', other)).toMatchObject({ image: { digest: other, linkedBy: 'digest' }, builtFrom: build });
  });
});

describe('finding a workload by its name', () => {
  const { redis, prefix, assets } = graphFor('names');
  const now = new Date('2026-11-25T10:00:00Z');
  const deployment = (cluster: string | undefined, name: string): WorkloadAsset => ({
    type: 'workload',
    ...(cluster && { cluster }),
    namespace: 'prod-shop',
    kind: 'Deployment',
    name,
    labels: {},
    containers: [{ name, image: `harbor.example.com/shop/${name}:1.4.2` }],
    observedAt: '2026-11-25T09:00:00Z',
  });
  const lookup = async (name: string, cluster?: string) =>
    (await assets.findWorkloads([{ cluster, namespace: 'prod-shop', kind: 'Deployment', name }], () => undefined))[0]?.id;
  const names = (name: string) => redis.smembers(`${prefix}:graph:names:prod-shop:Deployment:${name}`);

  it('finds one known without a cluster by its name alone, with no set of names written for it', async () => {
    await assets.recordAssets([deployment(undefined, 'checkout')], now);
    expect(await lookup('checkout')).toBe('/prod-shop/Deployment/checkout');
    expect(await lookup('checkout', 'prod-eu-1')).toBeUndefined();
    expect(await names('checkout')).toEqual([]);
  });

  it('lists one known with a cluster under its name, and prefers it to the one without', async () => {
    await assets.recordAssets([deployment(undefined, 'orders'), deployment('prod-eu-1', 'orders'), deployment('prod-us-1', 'orders')], now);
    expect(await names('orders')).toEqual(expect.arrayContaining(['prod-eu-1/prod-shop/Deployment/orders', 'prod-us-1/prod-shop/Deployment/orders']));
    expect(await names('orders')).toHaveLength(2);
    expect(await lookup('orders')).toBe('prod-eu-1/prod-shop/Deployment/orders');
    expect(await lookup('orders', 'prod-us-1')).toBe('prod-us-1/prod-shop/Deployment/orders');
    expect(await lookup('payments')).toBeUndefined();
  });

  it('still finds what earlier versions listed under the name, a workload without a cluster among them', async () => {
    await redis.set(
      `${prefix}:graph:workload:/prod-shop/Deployment/cart`,
      JSON.stringify({
        id: '/prod-shop/Deployment/cart',
        namespace: 'prod-shop',
        kind: 'Deployment',
        name: 'cart',
        labels: {},
        images: [],
        containerPrivileges: [],
        lastSeen: now.toISOString(),
      }),
    );
    await redis.sadd(`${prefix}:graph:names:prod-shop:Deployment:cart`, '/prod-shop/Deployment/cart');
    expect(await lookup('cart')).toBe('/prod-shop/Deployment/cart');
  });
});

describe('many workloads learnt at once from runtime events', () => {
  const { assets } = graphFor('sightings');

  it('writes and reads them in chunks: every one, with the time it was last seen', async () => {
    const now = new Date('2026-11-25T10:00:00Z');
    // More than one chunk (1,000) of each: a batch of alerts each naming a workload of its own.
    const facts: WorkloadFacts[] = Array.from({ length: 2_345 }, (_, i) => ({
      id: `/ns-${i % 7}/Deployment/svc-${i}`,
      namespace: `ns-${i % 7}`,
      kind: 'Deployment',
      name: `svc-${i}`,
      labels: {},
      images: [{ container: '' }],
      containerPrivileges: [],
      lastSeen: '2026-11-25T09:00:00.000Z',
      learnedFrom: 'runtime',
    }));
    await assets.recordSightings(
      facts.map((f) => ({ facts: f })),
      new Set(),
      new Map(),
      3_600_000,
      now,
      new Date(now.getTime() - 3_600_000),
    );
    const read = await assets.workloads([...facts.map((f) => f.id), '/ns-0/Deployment/unknown']);
    expect(read.size).toBe(facts.length);
    for (const f of facts) expect(read.get(f.id)).toEqual({ ...f, lastSeen: now.toISOString() });
    const found = await assets.findWorkloads(
      facts.map((f) => ({ namespace: f.namespace, kind: f.kind, name: f.name })),
      () => undefined,
    );
    expect(found.map((f) => f?.id)).toEqual(facts.map((f) => f.id));
  });
});

describe('how workload facts and detections are kept', () => {
  const { redis, prefix, assets } = graphFor('kept');
  const now = new Date('2026-11-25T10:00:00Z');
  const since = new Date('2026-11-25T09:00:00Z');

  it('reads back every workload as it was written, whatever its names hold (a slash in a cluster or a name)', () => {
    const part = fc.stringMatching(/^[a-z0-9/.-]{1,12}$/);
    const facts = fc
      .record({
        cluster: fc.option(part, { nil: undefined }),
        namespace: part,
        kind: fc.constantFrom('Deployment', 'StatefulSet', 'DaemonSet'),
        name: part,
        labels: fc.dictionary(fc.constantFrom('app', 'team', 'env'), part),
        podLabels: fc.option(fc.dictionary(fc.constantFrom('app', 'pod-template-hash'), part), { nil: undefined }),
        images: fc.array(fc.record({ container: part, repository: fc.option(part, { nil: undefined }) }, { requiredKeys: ['container'] }), { maxLength: 3 }),
        containerPrivileges: fc.array(part, { maxLength: 2 }),
        learnedFrom: fc.constantFrom(undefined, 'runtime' as const),
      })
      .map((f): WorkloadFacts => ({ ...f, id: workloadId(f), lastSeen: now.toISOString() }));
    fc.assert(
      fc.property(facts, (f) => {
        expect(workloadOf(f.id, storedWorkload(f), f.lastSeen)).toEqual(f);
        // What the id spells is left out whenever the id can be read back (no slash but in the cluster).
        const readable = ![f.namespace, f.name].some((p) => p.includes('/'));
        expect(Object.keys(JSON.parse(storedWorkload(f)))).toEqual(
          readable ? expect.not.arrayContaining(['namespace']) : expect.arrayContaining(['namespace']),
        );
      }),
    );
  });

  it('keeps a workload a runtime alert taught in a few bytes, and reads a record of an earlier version as the same facts', async () => {
    const f: WorkloadFacts = {
      id: '/ns-41/Deployment/svc-412',
      namespace: 'ns-41',
      kind: 'Deployment',
      name: 'svc-412',
      labels: {},
      images: [],
      containerPrivileges: [],
      lastSeen: since.toISOString(),
      learnedFrom: 'runtime',
    };
    await assets.recordSightings([{ facts: f }], new Set(), new Map(), 3_600_000, now, since);
    expect(await redis.get(`${prefix}:graph:workload:${f.id}`)).toBe('{"learnedFrom":"runtime"}');
    expect((await assets.workloads([f.id])).get(f.id)).toEqual({ ...f, lastSeen: now.toISOString() });
    // What an earlier version wrote: every field, the id and the time included.
    const old: WorkloadFacts = {
      ...f,
      images: [{ container: '' }],
      id: 'eu/1/prod-shop/Deployment/checkout',
      cluster: 'eu/1',
      namespace: 'prod-shop',
      name: 'checkout',
      labels: { app: 'checkout' },
    };
    delete old.learnedFrom;
    await redis.set(`${prefix}:graph:workload:${old.id}`, JSON.stringify(old));
    expect((await assets.workloads([old.id])).get(old.id)).toEqual(old);
    // The same snapshot again is no change to the graph, so nothing around it is scored again.
    const asset: WorkloadAsset = {
      type: 'workload',
      cluster: 'eu/1',
      namespace: 'prod-shop',
      kind: 'Deployment',
      name: 'checkout',
      labels: { app: 'checkout' },
      containers: [],
      observedAt: since.toISOString(),
    };
    await redis.set(`${prefix}:graph:workload:${old.id}`, JSON.stringify({ ...old, images: [], lastSeen: since.toISOString() }));
    expect((await assets.recordAssets([asset], now)).workloads).toEqual(new Set());
    expect((await assets.recordAssets([{ ...asset, labels: { app: 'checkout', tier: 'web' } }], now)).workloads).toEqual(new Set([old.id]));
  });

  it('keeps a detection under its fingerprint without spelling it again, and reads those an earlier version kept', async () => {
    const id = '/prod-shop/Deployment/cart';
    const detection = {
      fingerprint: 'fp-shell',
      title: 'Terminal shell in container',
      rule: 'shell-in-container',
      severity: 'high' as const,
      at: '2026-11-25T09:30:00Z',
    };
    const plain = { fingerprint: 'fp-alert', title: 'KubeAlert1', rule: 'KubeAlert1', severity: 'info' as const, at: '2026-11-25T09:40:00Z' };
    await redis.hset(`${prefix}:graph:detections:${id}`, 'fp-old', JSON.stringify({ ...plain, fingerprint: 'fp-old', at: '2026-11-25T09:20:00Z' }));
    const { detections } = await assets.recordSightings([], new Set(), new Map([[id, [detection, plain]]]), 3_600_000, now, since);
    expect(await redis.hget(`${prefix}:graph:detections:${id}`, 'fp-alert')).toBe('{"rule":"KubeAlert1","severity":"info","at":"2026-11-25T09:40:00Z"}');
    // The hash lives for the runtime window from its last detection.
    expect(await redis.pttl(`${prefix}:graph:detections:${id}`)).toBeGreaterThan(3_500_000);
    const expected = [plain, detection, { ...plain, fingerprint: 'fp-old', at: '2026-11-25T09:20:00Z' }];
    expect(detections.get(id)).toEqual(expected);
    expect((await assets.detections([id], since)).get(id)).toEqual(expected);
  });
});
