import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Finding } from '@klaxon/findings';
import { exceptionSchema } from '@klaxon/platform';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { coveringException, isActive, matchedBy, type Exception } from './exception';
import { ExceptionRepository } from './exception.repository';
import { ExceptionStore } from './exception.store';

const log4j: Finding = toFinding({
  kind: 'vulnerability',
  stage: 'build',
  source: { tool: 'trivy', integration: 'report' },
  title: 'log4j-core: remote code execution',
  severity: 'critical',
  rule: { id: 'CVE-2021-44228' },
  artifact: { repository: 'shop/checkout', digest: 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f' },
  package: { name: 'log4j-core', installed: '2.14.1', fixed: '2.15.0' },
  workload: { cluster: 'prod-eu-1', namespace: 'dev-shop', kind: 'Deployment', name: 'checkout' },
  fixable: true,
  observedAt: '2026-11-23T10:00:00Z',
  environment: 'development',
});

function exception(input: Record<string, unknown>, origin: Exception['origin'] = 'config'): Exception {
  return { ...exceptionSchema.parse({ reason: 'accepted', owner: 'team-payments', ...input }), origin };
}

const now = new Date('2026-11-23T12:00:00Z');

describe('which exception covers a finding', () => {
  const devOnly = exception({ id: 'log4j-dev', match: ['rule = CVE-2021-44228', 'environment = development'], expires: '2027-01-31T00:00:00Z' });
  const expired = exception({ id: 'old', match: ['severity >= high'], expires: '2026-11-23T11:59:59Z' });
  const prodOnly = exception({ id: 'prod', match: ['namespace =~ prod-.*'], permanent: true });

  it.each([
    ['an active exception whose matchers all hold', [devOnly], 'log4j-dev'],
    ['nothing when one matcher fails', [prodOnly], undefined],
    ['nothing once expired', [expired], undefined],
    ['the first that holds, skipping expired ones', [expired, prodOnly, devOnly], 'log4j-dev'],
  ])('%s', (_name, exceptions, expected) => {
    expect(coveringException(exceptions, log4j, now)?.id).toBe(expected);
  });

  it('expires exactly at its expiry instant; permanent ones never do', () => {
    expect(isActive(expired, new Date('2026-11-23T11:59:58.999Z'))).toBe(true);
    expect(isActive(expired, new Date('2026-11-23T11:59:59Z'))).toBe(false);
    expect(isActive(prodOnly, new Date('2999-01-01T00:00:00Z'))).toBe(true);
  });

  it('says which matchers made it apply', () => {
    expect(matchedBy(devOnly, log4j)).toEqual(['rule = CVE-2021-44228', 'environment = development']);
  });

  it('the shared schema refuses an exception with neither expiry nor permanent, naming expires', () => {
    const result = exceptionSchema.safeParse({ id: 'x', match: ['severity = low'], reason: 'r', owner: 'o' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['expires']);
  });
});

describe('exceptions stored in Redis', () => {
  let redis: Redis;
  let prefix: string;
  let store: ExceptionStore;
  let repository: ExceptionRepository;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('exceptions');
    repository = new ExceptionRepository(redis, prefix);
    store = new ExceptionStore([exceptionSchema.parse({ id: 'from-git', match: ['kind = secret'], reason: 'r', owner: 'o', permanent: true })], repository);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('keeps API exceptions with their matchers, lists config ones first, and forgets deleted ones', async () => {
    await repository.put(exception({ id: 'api-1', match: ['rule = CVE-2021-44228'], expires: '2026-11-23T13:00:00Z', created: '2026-11-23T11:00:00Z' }, 'api'));
    const listed = await store.list();
    expect(listed.map((e) => [e.id, e.origin])).toEqual([
      ['from-git', 'config'],
      ['api-1', 'api'],
    ]);
    expect(listed[1].match.map((m) => m.text)).toEqual(['rule = CVE-2021-44228']);
    expect(listed[1].expires).toEqual(new Date('2026-11-23T13:00:00Z'));
    expect((await store.covering(log4j, now))?.id).toBe('api-1');
    expect(await store.covering(log4j, new Date('2026-11-23T13:00:00Z'))).toBeUndefined();

    expect(await repository.remove('api-1')).toBe(true);
    expect(await repository.remove('api-1')).toBe(false);
    expect(await store.covering(log4j, now)).toBeUndefined();
  });
});
