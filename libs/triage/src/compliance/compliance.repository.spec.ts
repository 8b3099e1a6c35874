import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlResult } from '@klaxon/findings';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { ComplianceRepository } from './compliance.repository';
import { summarizeCompliance } from './compliance';

const result = fc.record<ControlResult>(
  {
    standard: fc.constantFrom({ id: 'cis-kubernetes', title: 'CIS Kubernetes Benchmark' }, { id: 'pss-baseline', title: 'Pod Security Standards (Baseline)' }),
    control: fc.record({ id: fc.constantFrom('1.1.12', '1.2.6', 'disallow-privileged-containers'), title: fc.constant('a control') }),
    cluster: fc.constantFrom('prod-eu-1', 'dev-eu-1'),
    namespace: fc.constantFrom(undefined, 'prod-shop'),
    status: fc.constantFrom('pass', 'fail', 'warn'),
    passed: fc.nat(3),
    failed: fc.nat(3),
    findings: fc.array(fc.constantFrom('a1b2', 'c3d4', 'e5f6'), { maxLength: 2 }),
    observedAt: fc.constantFrom('2026-11-23T10:00:00.000Z', '2026-11-24T10:00:00.000Z', '2026-11-25T10:00:00.000Z'),
  },
  { requiredKeys: ['standard', 'control', 'cluster', 'status', 'passed', 'failed', 'findings', 'observedAt'] },
);

describe('ComplianceRepository', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(redis, p);
    await redis.quit();
  });

  it('keeps the same latest result per control scope whatever order and grouping the reports arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(result, { minLength: 1, maxLength: 12 }), fc.func(fc.nat(2)), async (reports, split) => {
        const stores = [testPrefix('compliance'), testPrefix('compliance')].map((p) => (prefixes.push(p), new ComplianceRepository(redis, p)));
        const now = new Date('2026-11-25T12:00:00Z');
        for (const r of reports) await stores[0].record([r], now);
        // The other store gets them reversed, some in batches of several.
        const reversed = [...reports].reverse();
        for (let i = 0; i < reversed.length;) {
          const n = 1 + split(i);
          await stores[1].record(reversed.slice(i, i + n), now);
          i += n;
        }
        const [a, b] = await Promise.all(stores.map(async (s) => summarizeCompliance(await s.all())));
        expect(b).toEqual(a);
      }),
      { numRuns: 60 },
    );
  });

  it('snapshots each standard’s failing and passing controls for the day', async () => {
    const prefix = testPrefix('compliance');
    prefixes.push(prefix);
    const store = new ComplianceRepository(redis, prefix);
    const base = {
      standard: { id: 'cis-kubernetes', title: 'CIS' },
      cluster: 'prod-eu-1',
      passed: 0,
      failed: 1,
      findings: [] as string[],
      observedAt: '2026-11-24T10:00:00.000Z',
    };
    await store.record(
      [
        { ...base, control: { id: '1.1.12', title: 'etcd dir' }, status: 'fail' as const },
        { ...base, control: { id: '1.2.6', title: 'authz mode' }, status: 'pass' as const, passed: 1, failed: 0 },
      ],
      new Date('2026-11-24T12:00:00Z'),
    );
    await store.record(
      [{ ...base, control: { id: '1.1.12', title: 'etcd dir' }, status: 'pass' as const, observedAt: '2026-11-25T10:00:00.000Z' }],
      new Date('2026-11-25T12:00:00Z'),
    );
    expect(await store.trend(3, new Date('2026-11-25T12:00:00Z'))).toEqual([
      { day: '2026-11-24', standard: 'cis-kubernetes', failing: 1, passing: 1 },
      { day: '2026-11-25', standard: 'cis-kubernetes', failing: 0, passing: 2 },
    ]);
  });
});
