import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { toFinding, type Batch, type FindingDraft } from '@klaxon/findings';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { ExceptionRepository } from '../exceptions/exception.repository';
import { ExceptionStore } from '../exceptions/exception.store';
import { FindingRepository } from '../finding.repository';
import { TriageBatch } from './triage-batch.usecase';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

function vuln(cve: string, repository: string, d: string): FindingDraft {
  return {
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'report' },
    title: `${cve} in openssl`,
    severity: 'high',
    rule: { id: cve },
    artifact: { registry: 'harbor.example.com', repository, digest: d },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-23T10:00:00Z',
  };
}

function alert(name: string): FindingDraft {
  return {
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'alertmanager', integration: 'webhook:alertmanager' },
    title: `${name} is crash looping`,
    severity: 'high',
    rule: { id: 'KubePodCrashLooping' },
    workload: { namespace: 'prod-shop', kind: 'Deployment', name },
    fixable: false,
    observedAt: '2026-11-23T10:00:00Z',
  };
}

/** A complete report of one Alertmanager group: the firing alerts, nothing else of its kind. */
function group(scope: string, names: string[]): Batch {
  return { findings: names.map((n) => toFinding(alert(n))), assets: [], scopes: [{ key: scope, kinds: ['runtime'] }] };
}

describe('keys built from input cannot reach other keys', () => {
  let redis: Redis;
  let prefix: string;
  let findings: FindingRepository;
  let triage: TriageBatch;
  let seq = 0;
  const at = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 11, minutes));
  const run = (batch: Batch, minutes: number) => triage.execute(batch, at(minutes), `evt-${++seq}`);

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('keys');
    findings = new FindingRepository(redis, prefix);
    triage = new TriageBatch(findings, new ExceptionStore([], new ExceptionRepository(redis, prefix)));
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('an image repository with a newline stays in its own image index, not in the state or digest indexes it names', async () => {
    const victim = digest(77);
    await run({ findings: [toFinding(vuln('CVE-VICTIM', 'shop/api', victim))], assets: [], scopes: [] }, 0);
    const hostile = `shop/evil\nstate:resolved\ndigest:${victim}\nseverity:critical`;
    const [{ finding }] = (await run({ findings: [toFinding(vuln('CVE-EVIL', hostile, digest(1)))], assets: [], scopes: [] }, 1)).changes;

    const fps = async (filter: Parameters<FindingRepository['query']>[0]) => (await findings.query(filter, 0, 100)).fingerprints;
    expect(await fps({ state: ['resolved'] })).not.toContain(finding.fingerprint);
    expect(await fps({ digest: [victim] })).not.toContain(finding.fingerprint);
    expect(await fps({ severity: ['critical'] })).not.toContain(finding.fingerprint);
    expect(await fps({ image: [hostile] })).toEqual([finding.fingerprint]);
    expect(await fps({ state: ['open'], severity: ['high'] })).toContain(finding.fingerprint);
  });

  it.each([
    ['the plain scope first', ['alertmanager:klaxon/{}:{team="a"}', 'alertmanager:klaxon/{}:{team="a"}:last']],
    ['the `:last` scope first', ['alertmanager:klaxon/{}:{team="b"}:last', 'alertmanager:klaxon/{}:{team="b"}']],
  ])('a scope key ending in `:last` is a scope of its own (%s)', async (_, [first, second]) => {
    const tag = first.includes('"a"') ? 'a' : 'b';
    await run(group(first, [`${tag}-one`, `${tag}-two`]), 2);
    await run(group(second, [`${tag}-three`]), 3);
    // Each group's next complete report resolves only what left that group.
    const firstAgain = await run(group(first, [`${tag}-one`]), 4);
    const secondAgain = await run(group(second, []), 5);
    const resolved = (r: typeof firstAgain) => r.changes.filter((c) => c.change === 'resolved').map((c) => c.finding.workload?.name);
    expect(resolved(firstAgain)).toEqual([`${tag}-two`]);
    expect(resolved(secondAgain)).toEqual([`${tag}-three`]);
  });
});
