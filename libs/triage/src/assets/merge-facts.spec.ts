import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { AssetRepository } from './asset.repository';
import { buildRecordOf, imageFactsOf, imageRecordOf, mergeFacts, normalFacts, type FactRecord } from './facts';

const at = fc.constantFrom('2026-11-23T09:00:00Z', '2026-11-23T09:30:00Z', '2026-11-24T02:00:00Z');
const value = fc.constantFrom('acme/checkout', 'acme/other', '4e1f0c2a', '9f2c1a7e', 'main', '');
const record: fc.Arbitrary<FactRecord> = fc
  .record({
    sets: fc.dictionary(fc.constantFrom('tags', 'pullRequests'), fc.uniqueArray(fc.constantFrom('1.4.2', 'latest', '42', '40'))),
    fields: fc.dictionary(
      fc.constantFrom('registry', 'repository', 'build.repo', 'build.commit', 'label.org.opencontainers.image.revision'),
      fc.record({ value, at }),
    ),
    lastSeen: at,
  })
  .map((r) => normalFacts({ ...r, sets: Object.fromEntries(Object.entries(r.sets).map(([k, v]) => [k, [...v].sort()])) }));

const same = (a: FactRecord, b: FactRecord) => expect(normalFacts(a)).toEqual(normalFacts(b));

describe('mergeFacts: what the graph keeps of a digest or a commit is the same in any order', () => {
  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(record, record, record, (a, b, c) => {
        same(mergeFacts(a, b), mergeFacts(b, a));
        same(mergeFacts(mergeFacts(a, b), c), mergeFacts(a, mergeFacts(b, c)));
        same(mergeFacts(a, a), a);
        same(mergeFacts(mergeFacts(a, b), b), mergeFacts(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('a registry push after the CI scan keeps the build, the commit and the OCI labels; a later CI run adds its PR', () => {
    const scan = imageRecordOf(
      {
        repository: 'shop/checkout',
        tags: ['1.4.2'],
        labels: { 'org.opencontainers.image.revision': '4e1f0c2a' },
        build: { repo: 'acme/checkout', commit: '4e1f0c2a', pullRequests: [] },
      },
      '2026-11-23T09:58:31Z',
    );
    const push = imageRecordOf({ repository: 'shop/checkout', tags: ['1.4.2', 'latest'] }, '2026-11-23T10:05:00Z');
    const run = buildRecordOf({ repo: 'acme/checkout', commit: '4e1f0c2a', pullRequests: [42] }, '2026-11-23T09:50:00Z');
    for (const order of [
      [scan, push, run],
      [run, push, scan],
      [push, run, scan],
    ]) {
      const facts = imageFactsOf(
        'sha256:d',
        order.reduce<FactRecord | undefined>((acc, r) => mergeFacts(acc, r), undefined)!,
      );
      expect(facts).toMatchObject({
        repository: 'shop/checkout',
        tags: ['1.4.2', 'latest'],
        labels: { 'org.opencontainers.image.revision': '4e1f0c2a' },
        build: { repo: 'acme/checkout', commit: '4e1f0c2a', pullRequests: [42] },
      });
    }
  });

  it('a field changes only with newer evidence', () => {
    const older = imageRecordOf({ repository: 'shop/checkout', tags: [], build: { repo: 'acme/old', pullRequests: [] } }, '2026-11-23T09:00:00Z');
    const newer = imageRecordOf({ tags: [], build: { repo: 'acme/checkout', pullRequests: [] } }, '2026-11-23T10:00:00Z');
    expect(imageFactsOf('d', mergeFacts(newer, older)).build?.repo).toBe('acme/checkout');
    expect(imageFactsOf('d', mergeFacts(older, newer)).build?.repo).toBe('acme/checkout');
    // Silence is not evidence: the newer record without a repository keeps the older one's.
    expect(imageFactsOf('d', mergeFacts(older, newer)).repository).toBe('shop/checkout');
  });
});

describe('merge-facts.lua applies mergeFacts atomically in Redis', () => {
  const redis = testRedis();
  const prefix = testPrefix('merge-facts');
  new AssetRepository(redis, prefix);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('gives the record the pure merge gives, for any sequence of writes, and says which writes changed it', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 6 }), async (records) => {
        const key = `${prefix}:graph:image:${run++}`;
        let expected: FactRecord | undefined;
        for (const r of records) {
          const merged = mergeFacts(expected, r);
          const changed = await redis.mergeFacts(key, JSON.stringify(r));
          const before = expected && normalFacts(expected);
          expect(changed === 1).toBe(!before || JSON.stringify({ ...before, lastSeen: '' }) !== JSON.stringify({ ...normalFacts(merged), lastSeen: '' }));
          expected = merged;
        }
        same(JSON.parse((await redis.get(key))!) as FactRecord, expected!);
      }),
      { numRuns: 100 },
    );
  });
});
