import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '@klaxon/findings';
import { feedbackConfigSchema, proposalOf, ruleTable } from '@klaxon/feedback';
import { parserFor, type ReportContext } from '@klaxon/sources';
import { SuggestionRepository } from '@klaxon/triage';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { FeedbackSuggestions, buildOf } from './feedback-suggestions.usecase';

const falco = (name: string, eventId: string): Finding[] =>
  parserFor('falco')!.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures/falco', name), 'utf8'), {
    eventId,
    receivedAt: '2024-06-13T09:00:00.000Z',
    integration: 'webhook:falco',
    context: {} as ReportContext,
  }).findings;

/** As correlation leaves a runtime finding whose image digest was built by PR 42. */
const correlated = (findings: Finding[]): Finding[] =>
  findings.map((f) => ({ ...f, code: { repo: 'acme/checkout', commit: '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f', pullRequest: 42 } }));

describe('FeedbackSuggestions on the test Redis', () => {
  const redis = testRedis();
  const prefix = testPrefix('feedback');
  const repository = new SuggestionRepository(redis, prefix);
  const config = feedbackConfigSchema.parse({});
  const feedback = new FeedbackSuggestions(repository, ruleTable(config), config);
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  const count = async (rule: string) => {
    const { ids } = await repository.list(0, 100);
    return [...(await repository.getMany(ids)).values()].find((s) => s.rule === rule)?.evidence.count;
  };

  let proposalFingerprint = '';

  it('stores one suggestion per (workload, rule) and routes one proposal for the workload, with the build it came from', async () => {
    const { outcome, suggestions, changes } = await feedback.execute('evt_a', correlated(falco('checkout-hardening.jsonl', 'evt_a')));
    expect(outcome.touched.map((t) => t.change)).toEqual(['new', 'new']);
    expect(changes.map((c) => [c.change, c.finding.kind, c.finding.rule.id, c.finding.code?.pullRequest])).toEqual([
      ['new', 'suggestion', 'hardening-proposal', 42],
    ]);
    const proposal = proposalOf(suggestions[0])!;
    expect(proposal.sections.map((s) => s.suggestion.rule.id)).toEqual(['read-only-root-filesystem', 'remove-package-manager']);
    // One Falco event (the package manager) backs both rules: merged evidence counts it once.
    expect(proposal.evidence.count).toBe(3);
    expect(proposal.changes.securityContextPatch).toContain('readOnlyRootFilesystem: true');
    proposalFingerprint = suggestions[0].fingerprint;
  });

  it('a retried job (same event) counts nothing twice and answers as the first time', async () => {
    const again = await feedback.execute('evt_a', correlated(falco('checkout-hardening.jsonl', 'evt_a')));
    expect(again.outcome.touched.map((t) => t.change)).toEqual(['new', 'new']);
    expect(again.changes.map((c) => [c.change, c.finding.fingerprint])).toEqual([['new', proposalFingerprint]]);
    expect(await count('read-only-root-filesystem')).toBe(3);
  });

  it('more evidence and a new rule update the same proposal in place, one more section', async () => {
    const { changes } = await feedback.execute('evt_b', correlated(falco('checkout-hardening-more.jsonl', 'evt_b')));
    const proposal = changes.find((c) => c.finding.fingerprint === proposalFingerprint);
    expect(proposal?.change).toBe('updated');
    const p = proposalOf(proposal!.finding)!;
    expect(p.evidence.detections.find((d) => d.rule === 'Launch Package Management Process in Container')?.count).toBe(2);
    // The shell was only a Falco Notice, but the workload was attacked: its rule joins the proposal (ranked last).
    expect(p.sections.map((s) => [s.suggestion.rule.id, s.priority])).toEqual([
      ['read-only-root-filesystem', 'medium'],
      ['remove-package-manager', 'medium'],
      ['remove-shells-and-block-exec', 'low'],
    ]);
    // The empty lower-priority item is withdrawn (a no-op for routing where it was never told).
    expect(changes.filter((c) => c !== proposal).map((c) => [c.change, c.finding.rule.id])).toEqual([['resolved', 'hardening-lower-priority']]);
  });

  it('a workload seen only by a weak detection gets a low item, promoted into a proposal when a strong one follows', async () => {
    const debugPod = falco('events-prod-shop.ndjson', 'evt_d').filter((f) => f.workload?.name === 'debug');
    const weak = await feedback.execute('evt_d', debugPod);
    expect(weak.changes.map((c) => [c.change, c.finding.rule.id, c.finding.severity])).toEqual([['new', 'hardening-lower-priority', 'low']]);
    const strong = await feedback.execute(
      'evt_e',
      debugPod.map((f) => ({ ...f, severity: 'high' as const, observedAt: '2026-11-23T12:00:00Z' })),
    );
    expect(strong.changes.map((c) => [c.change, c.finding.rule.id])).toEqual([
      ['updated', 'hardening-proposal'],
      ['resolved', 'hardening-lower-priority'],
    ]);
    expect(strong.changes[1].finding.fingerprint).toBe(weak.changes[0].finding.fingerprint);
  });

  it('events processed at the same time by several workers all count (optimistic writes retry on conflict)', async () => {
    // Three workers (as on three hosts), two events each, all at once.
    const workers = [feedback, new FeedbackSuggestions(repository, ruleTable(config), config), new FeedbackSuggestions(repository, ruleTable(config), config)];
    const events = Array.from({ length: 6 }, (_, i) => `evt_c${i}`);
    const results = await Promise.all(events.map((id, i) => workers[i % 3].execute(id, correlated(falco('checkout-hardening-more.jsonl', id)))));
    expect(results.every((r) => r.outcome.touched.some((t) => t.id && t.change === 'updated'))).toBe(true);
    // Each delivery has one package-manager event: read-only-root-filesystem grows by one per event.
    expect(await count('read-only-root-filesystem')).toBe(4 + events.length);
    expect(await count('remove-shells-and-block-exec')).toBe(1 + events.length);
  });

  it('reads the build from correlated labels when correlation left no code', () => {
    const [f] = falco('checkout-hardening.jsonl', 'evt_l');
    expect(buildOf({ ...f, labels: { ...f.labels, repo: 'acme/checkout', pr: '#42, #40', commit: 'abc1234' } })).toEqual({
      repo: 'acme/checkout',
      commit: 'abc1234',
      pullRequest: 42,
    });
    expect(buildOf(f)).toBeUndefined();
  });
});

describe('FeedbackSuggestions.triggering', () => {
  const config = feedbackConfigSchema.parse({});
  // Pure: triggering and collect read no Redis.
  const feedback = new FeedbackSuggestions(undefined as unknown as SuggestionRepository, ruleTable(config), config);
  const parsed = (format: string, file: string): Finding[] =>
    parserFor(format)!.parse(readFileSync(resolve(__dirname, '../../../../test/fixtures', format, file), 'utf8'), {
      eventId: 'evt_t',
      receivedAt: '2024-06-13T09:00:00.000Z',
      integration: `webhook:${format}`,
      context: {} as ReportContext,
    }).findings;
  const seeds = [
    ...parsed('falco', 'checkout-hardening.jsonl'),
    ...parsed('falco', 'checkout-egress.jsonl'),
    ...parsed('falco', 'shell-from-java.json'),
    ...parsed('tetragon', 'events-prod-shop.ndjson'),
    ...parsed('stackrox', 'deploy-alert.json'),
    ...parsed('stackrox', 'runtime-alert.json'),
    ...parsed('alertmanager', 'firing.json'),
  ];
  const flip = (s: string, upper: boolean) => (upper ? s.toUpperCase() : s.toLowerCase());
  const variant = fc
    .record({
      seed: fc.constantFrom(...seeds),
      toolCase: fc.option(fc.boolean(), { nil: undefined }),
      ruleCase: fc.option(fc.boolean(), { nil: undefined }),
      dropName: fc.boolean(),
      dropWorkload: fc.boolean(),
      kind: fc.option(fc.constantFrom('runtime', 'policy', 'vulnerability') as fc.Arbitrary<Finding['kind']>, { nil: undefined }),
      stage: fc.option(fc.constantFrom('runtime', 'deploy', 'build') as fc.Arbitrary<Finding['stage']>, { nil: undefined }),
    })
    .map(({ seed, toolCase, ruleCase, dropName, dropWorkload, kind, stage }) => ({
      ...seed,
      kind: kind ?? seed.kind,
      stage: stage ?? seed.stage,
      source: { ...seed.source, tool: toolCase === undefined ? seed.source.tool : flip(seed.source.tool, toolCase) },
      rule: {
        ...seed.rule,
        id: ruleCase === undefined ? seed.rule.id : flip(seed.rule.id, ruleCase),
        name: dropName ? undefined : ruleCase === undefined ? seed.rule.name : seed.rule.name && flip(seed.rule.name, !ruleCase),
      },
      workload: dropWorkload ? undefined : seed.workload,
    }));

  it('keeps exactly the findings that collect turns into suggestions, for any runtime and deploy-time finding', () => {
    expect(seeds.filter((f) => feedback.collect([f]).length > 0).length).toBeGreaterThan(3);
    fc.assert(
      fc.property(fc.array(variant, { maxLength: 20 }), (findings) => {
        expect(feedback.triggering(findings)).toEqual(findings.filter((f) => feedback.collect([f]).length > 0));
      }),
      { numRuns: 300 },
    );
  });
});
