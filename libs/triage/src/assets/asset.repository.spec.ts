import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import type { WorkloadAsset } from '@klaxon/findings';
import { AssetRepository, type RiskRecord } from './asset.repository';
import type { WorkloadFacts } from './facts';

describe('a finding’s last risk in the asset graph', () => {
  const redis = testRedis();
  const prefix = testPrefix('risk');
  const assets = new AssetRepository(redis, prefix);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });
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

  it('is read back as it was saved, keeping no empty exposure or owners', async () => {
    await assets.saveRisk(new Map([['fp-1', record]]));
    expect((await assets.risks(['fp-1', 'fp-none'])).get('fp-1')).toEqual(record);
    expect(await assets.risks(['fp-none'])).toEqual(new Map());
    const stored = JSON.parse((await redis.get(`${prefix}:graph:risk:fp-1`))!);
    expect(stored.workloads[1]).toEqual({ id: 'prod/shop/Deployment/checkout-canary', environment: 'prod' });
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
  const redis = testRedis();
  const prefix = testPrefix('names');
  const assets = new AssetRepository(redis, prefix);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });
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
  const redis = testRedis();
  const prefix = testPrefix('sightings');
  const assets = new AssetRepository(redis, prefix);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

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
