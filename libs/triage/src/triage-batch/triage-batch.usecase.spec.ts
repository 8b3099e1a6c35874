import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Batch, type FindingDraft } from '@klaxon/findings';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { ExceptionRepository } from '../exceptions/exception.repository';
import { ExceptionStore } from '../exceptions/exception.store';
import { FindingRepository } from '../finding.repository';
import { TriageBatch } from './triage-batch.usecase';

const D1 = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const D2 = 'sha256:2222222222222222222222222222222222222222222222222222222222222222';

function vuln(cve: string, pkg: string, tool = 'trivy', digest = D1): FindingDraft {
  return {
    kind: 'vulnerability',
    stage: 'build',
    source: { tool, integration: 'report' },
    title: `${cve} in ${pkg}`,
    severity: 'high',
    rule: { id: cve },
    artifact: { repository: 'shop/checkout', digest },
    package: { name: pkg, installed: '1.0', fixed: '1.1' },
    fixable: true,
    observedAt: '2026-11-23T10:00:00Z',
  };
}

function report(drafts: FindingDraft[], digest = D1): Batch {
  return { findings: drafts.map(toFinding), assets: [], scopes: [{ key: `image:${digest}`, kinds: ['vulnerability'] }] };
}

describe('triage of a batch against Redis', () => {
  let redis: Redis;
  let prefix: string;
  let repo: FindingRepository;
  let triage: TriageBatch;
  const t = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 10, minutes));

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('triage');
    repo = new FindingRepository(redis, prefix);
    triage = new TriageBatch(repo, new ExceptionStore([], new ExceptionRepository(redis, prefix)));
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('stores new findings, then an identical report changes only occurrences and last seen', async () => {
    const batch = report([vuln('CVE-1', 'openssl'), vuln('CVE-2', 'zlib'), vuln('CVE-2', 'zlib')]);
    const first = await triage.execute(batch, t(0), 'evt-1');
    expect(first.counts).toEqual({ new: 2, regressed: 0, resolved: 0, unchanged: 0, updated: 0, suppressed: 0, unsuppressed: 0 });
    const second = await triage.execute(batch, t(5), 'evt-2');
    expect(second.counts).toEqual({ new: 0, regressed: 0, resolved: 0, unchanged: 2, updated: 0, suppressed: 0, unsuppressed: 0 });
    expect(second.changes).toEqual([]);
    const record = await repo.get(batch.findings[0].fingerprint);
    expect(record).toMatchObject({ state: 'open', occurrences: 2, firstSeen: t(0).toISOString(), lastSeen: t(5).toISOString() });
  });

  it('a retried job (same cause) changes nothing and answers as the first time', async () => {
    const batch = report([vuln('CVE-1', 'openssl'), vuln('CVE-3', 'curl')]);
    const first = await triage.execute(batch, t(10), 'evt-3');
    const retry = await triage.execute(batch, t(11), 'evt-3');
    expect(retry.counts).toEqual(first.counts);
    expect(first.counts).toEqual({ new: 1, regressed: 0, resolved: 1, unchanged: 1, updated: 0, suppressed: 0, unsuppressed: 0 });
    expect((await repo.get(batch.findings[0].fingerprint))?.occurrences).toBe(3);
  });

  it('a newer complete report resolves what it lacks, and a later one reopens it as a regression', async () => {
    const zlib = toFinding(vuln('CVE-2', 'zlib'));
    expect((await repo.get(zlib.fingerprint))?.state).toBe('resolved');
    const again = await triage.execute(report([vuln('CVE-1', 'openssl'), vuln('CVE-2', 'zlib')]), t(20), 'evt-4');
    expect(again.changes.filter((c) => c.change === 'regressed').map((c) => c.finding.fingerprint)).toEqual([zlib.fingerprint]);
    const record = await repo.get(zlib.fingerprint);
    expect(record?.state).toBe('open');
    expect(record?.history.map((h) => h.state)).toEqual(['open', 'resolved', 'open']);
    expect(record?.history[2].cause).toBe('regressed: seen again in evt-4');
  });

  it('two tools reporting the same CVE give one finding with two sources and both digests', async () => {
    const result = await triage.execute({ findings: [toFinding(vuln('CVE-9', 'glibc', 'harbor', D2))], assets: [], scopes: [] }, t(30), 'evt-5');
    expect(result.counts.new).toBe(1);
    await triage.execute({ findings: [toFinding(vuln('CVE-9', 'glibc', 'trivy', D1))], assets: [], scopes: [] }, t(31), 'evt-6');
    const record = await repo.get(toFinding(vuln('CVE-9', 'glibc')).fingerprint);
    expect(record?.sources).toEqual(['harbor/report', 'trivy/report']);
    expect(record?.digests).toEqual([D1, D2]);
    expect(record?.occurrences).toBe(2);
  });

  it('an empty complete report resolves everything of its scope', async () => {
    const result = await triage.execute({ findings: [], assets: [], scopes: [{ key: `image:${D1}`, kinds: ['vulnerability'] }] }, t(40), 'evt-7');
    expect(result.counts.resolved).toBe(2);
    expect(result.changes.every((c) => c.change === 'resolved' && c.finding.state === 'resolved')).toBe(true);
  });
});
