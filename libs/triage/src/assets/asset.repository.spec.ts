import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { AssetRepository, type RiskRecord } from './asset.repository';

describe('a finding’s last risk in the asset graph', () => {
  const redis = testRedis();
  const prefix = testPrefix('risk');
  const assets = new AssetRepository(redis, prefix);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  const record: RiskRecord = {
    score: 85,
    reasons: ['+35 critical severity', '+25 exposed through LoadBalancer shop/checkout', '+10 running in shop Deployment checkout (linked by digest)'],
    at: '2026-11-25T10:00:00.000Z',
    environment: 'prod',
    exposure: 'internet',
    digest: 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f',
    linkedBy: 'digest',
    workloads: [{ id: 'prod/shop/Deployment/checkout', environment: 'prod', exposedVia: ['LoadBalancer shop/checkout'], owners: { team: 'payments' } }],
  };

  it('is read back as it was saved, and describes the finding’s context', async () => {
    await assets.saveRisk(new Map([['fp-1', record]]));
    expect((await assets.risks(['fp-1', 'fp-none'])).get('fp-1')).toEqual(record);
    expect(await assets.risks(['fp-none'])).toEqual(new Map());
    expect(await assets.describeContext('fp-1')).toEqual({
      risk: { score: 85, reasons: record.reasons, at: record.at },
      environment: 'prod',
      exposure: 'internet',
      image: { digest: record.digest, linkedBy: 'digest' },
      builtFrom: undefined,
      runsIn: record.workloads,
    });
    expect(await assets.describeContext('fp-none')).toBeUndefined();
  });
});
