import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { parseInput } from '@klaxon/sources';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { fixture, meta } from '../../../../test/support/fixtures';
import { ExceptionRepository } from '../exceptions/exception.repository';
import { ExceptionStore } from '../exceptions/exception.store';
import { FindingRepository } from '../finding.repository';
import { TriageBatch } from './triage-batch.usecase';

const batchOf = (format: string, dir: string, name: string, eventId: string) =>
  parseInput(fixture(dir, name), format, { ...meta({}, `webhook:${format}`), eventId, cluster: 'prod-eu-1' }).batch;

describe('one behaviour seen by two sensors, against Redis', () => {
  let redis: Redis;
  let prefix: string;
  let repo: FindingRepository;
  let triage: TriageBatch;
  const at = new Date('2026-11-23T10:00:00Z');

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('cross-sensor');
    repo = new FindingRepository(redis, prefix);
    triage = new TriageBatch(repo, new ExceptionStore([], new ExceptionRepository(redis, prefix)));
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('is one runtime finding with both sensors as sources, each with its own rule name', async () => {
    const falco = batchOf('falco', 'falco', 'shell-from-java.json', 'evt-falco');
    const stackrox = batchOf('stackrox', 'stackrox', 'runtime-alert.json', 'evt-stackrox');
    const first = await triage.execute(stackrox, at, 'evt-stackrox');
    const second = await triage.execute(falco, at, 'evt-falco');
    expect(first.counts.new).toBe(1);
    expect(second.counts).toMatchObject({ new: 0, unchanged: 1 });
    const record = await repo.get(falco.findings[0].fingerprint);
    expect(record?.sources).toEqual(['falco/webhook:falco#Run shell untrusted', 'stackrox/webhook:stackrox#Shell Spawned by Java Application']);
    expect(record).toMatchObject({ kind: 'runtime', behaviour: 'shell-in-container', state: 'open', occurrences: 2 });
  });
});
