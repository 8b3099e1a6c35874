import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { proposalOf, ruleTable } from '@klaxon/feedback';
import type { Batch, Finding } from '@klaxon/findings';
import { type KlaxonConfig } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { GroupRepository, groupChanges, routeByPath, type PendingChange } from '@klaxon/routing';
import { parseInput, type ReportContext } from '@klaxon/sources';
import {
  AssetRepository,
  CorrelateFindings,
  ExceptionRepository,
  ExceptionStore,
  FindingRepository,
  ReportTimeRepository,
  SuggestionRepository,
  TriageBatch,
  routingSignature,
} from '@klaxon/triage';
import { FeedbackSuggestions } from '../../apps/pipeline/src/feedback-suggestions/feedback-suggestions.usecase';
import { DAY } from '../support/correlation-day';
import { DIGEST } from '../support/fixtures';
import { dropPrefix, testPrefix, testRedis } from '../support/redis';

/**
 * The correlation day (../support/correlation-day.ts) applied through the pipeline's use cases, in
 * random orders with random redeliveries, each to a fresh store: the final state must not depend on
 * the order. Each step is what the pipeline does for one input (correlate, triage, feedback, route,
 * relink) with groupWait 0 (each group flushed after each input); the destinations' side is what the
 * flushed notifications leave them holding.
 */
const RUNS = Number(process.env.KLAXON_PERMUTATIONS ?? 200);

/** config/klaxon.example.yaml as shipped, secrets from a test environment. */
const config: KlaxonConfig = parseConfig(readFileSync(resolve(__dirname, '../../config/klaxon.example.yaml'), 'utf8'), {
  KLAXON_API_TOKEN: 't',
  GITHUB_WEBHOOK_SECRET: 's',
  GITLAB_WEBHOOK_TOKEN: 't',
  SLACK_BOT_TOKEN: 'xoxb-test',
  JIRA_HOST: 'jira.example.com',
  JIRA_USER: 'u',
  JIRA_API_TOKEN: 't',
  PD_ROUTING_KEY: 'k'.repeat(32),
  GITHUB_TOKEN: 'ghs_t',
  FALCO_TOKEN: 't',
  TETRAGON_TOKEN: 't',
  STACKROX_TOKEN: 't',
  ALERTMANAGER_TOKEN: 't',
});

/** The morning after: every input of the day is in the past and within the risk windows. One clock for all steps. */
const NOW = new Date('2026-11-24T03:00:00Z');

/** Each input parsed once, as ingest would (its event id is its name, so a redelivery is the same event). */
const INPUTS: { eventId: string; batch: Batch }[] = DAY.map((input, i) => {
  const eventId = `evt-${i}-${input.name.replace(/\W+/g, '-')}`;
  // As ingest reads the inputs: the configured cluster (sources.kubernetes.clusterName) names the cluster
  // of Kubernetes reports and of runtime events that do not say theirs.
  const cluster = { cluster: config.sources.kubernetes?.clusterName };
  const { batch } = parseInput(input.body, input.format, {
    eventId,
    receivedAt: NOW.toISOString(),
    integration: input.integration === 'report' ? 'report' : `webhook:${input.integration}`,
    context: { ...input.context, ...cluster } as ReportContext,
    ...cluster,
  });
  return { eventId, batch: { ...batch, followUps: undefined } };
});

interface Holding {
  destination: string;
  route: string;
  findings: Map<string, Finding>;
}

async function applyDay(redis: Redis, order: number[]) {
  const prefix = testPrefix('any-order');
  const assets = new AssetRepository(redis, prefix);
  const findings = new FindingRepository(redis, prefix);
  const suggestions = new SuggestionRepository(redis, prefix);
  const groups = new GroupRepository(redis, prefix);
  const correlate = new CorrelateFindings(assets, findings, config);
  const exceptions = new ExceptionStore([], new ExceptionRepository(redis, prefix));
  const triage = new TriageBatch(findings, exceptions, new ReportTimeRepository(redis, prefix), routingSignature(config.routes));
  const feedback = new FeedbackSuggestions(suggestions, ruleTable(config.feedback), config.feedback);
  // What each group last told its destinations (one entry per notification key, as the ledger keeps it).
  const held = new Map<string, Holding>();

  const route = async (eventId: string, changes: PendingChange[]) => {
    const timers = await groups.add(
      groupChanges(
        config.routes,
        changes.map((c) => ({ ...c, eventId })),
      ),
      NOW,
    );
    for (const timer of timers) {
      const r = routeByPath(config.routes, timer.route)!;
      const outcome = await groups.flush(timer.groupId, timer.seq, NOW, r.repeatInterval);
      if (!outcome?.notify) continue;
      for (const destination of r.to) {
        const key = `${destination}|${timer.groupId}`;
        const holding = held.get(key) ?? { destination, route: timer.route, findings: new Map() };
        for (const f of [...outcome.changes.new, ...outcome.changes.regressed, ...outcome.changes.open]) holding.findings.set(f.fingerprint, f);
        for (const f of outcome.changes.resolved) holding.findings.delete(f.fingerprint);
        held.set(key, holding);
      }
    }
  };

  try {
    for (const i of order) {
      const { eventId, batch } = INPUTS[i];
      const correlated = await correlate.execute(batch, NOW);
      const triaged = await triage.execute(correlated.batch, NOW, eventId);
      const runtime = correlated.batch.findings.filter((f) => f.kind === 'runtime' || (f.stage === 'deploy' && f.workload?.name));
      const made = runtime.length ? (await feedback.execute(eventId, runtime)).changes : [];
      const relinked = correlated.rescored.filter((r) => r.finding.kind === 'runtime' && r.finding.code?.repo).map((r) => r.finding);
      const relinks = relinked.length ? (await feedback.relink(eventId, relinked)).changes : [];
      await route(eventId, [...triaged.changes, ...correlated.rescored, ...made, ...relinks]);
    }
    return await finalState(prefix, findings, assets, suggestions, held);
  } finally {
    await dropPrefix(redis, prefix);
  }
}

async function finalState(prefix: string, findings: FindingRepository, assets: AssetRepository, suggestions: SuggestionRepository, held: Map<string, Holding>) {
  const all = await findings.getMany((await findings.query({}, 0, 100_000)).fingerprints);
  const image = (await assets.images([DIGEST])).get(DIGEST);
  const { ids } = await suggestions.list(0, 1000);
  const stored = [...(await suggestions.getMany(ids)).values()];
  const holding = [...held.values()].filter((h) => h.findings.size);
  const open = (h: Holding) => [...h.findings.values()];
  const prs = new Set(
    holding
      .filter((h) => h.destination === 'github-prs')
      .flatMap((h) => open(h).flatMap((f) => (f.code?.pullRequest ? [`${f.code.repo}#${f.code.pullRequest}`] : []))),
  );
  return {
    prefix,
    findings: Object.fromEntries(
      all
        .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint))
        // Risk as routing reads it (the example config pages at 80). The exact score of a finding two tools
        // report still follows the last report's data (their CVSS differ), so it is not compared.
        .map((f) => [f.fingerprint, { state: f.state, risky: (f.risk?.score ?? 0) >= 80, pr: f.code?.pullRequest, sources: f.sources }]),
    ),
    image: image && { tags: image.tags, build: image.build, labels: image.labels },
    runningD: (await assets.runningWorkloads([DIGEST], new Date(0))).get(DIGEST)?.sort(),
    suggestions: stored.map((s) => ({ id: s.id, rule: s.rule, code: s.code, evidence: s.evidence.count })).sort((a, b) => a.id.localeCompare(b.id)),
    // The proposals the destinations hold (a ticket, a PR comment section each): tier, subject and rules.
    proposals: [
      ...new Set(
        holding.flatMap((h) =>
          open(h).flatMap((f) => {
            const p = proposalOf(f);
            return p
              ? [
                  `${h.destination} ${p.tier} ${p.title}: ${p.sections
                    .map((s) => s.suggestion.rule.id)
                    .sort()
                    .join(',')}`,
                ]
              : [];
          }),
        ),
      ),
    ].sort(),
    // What the destinations hold: an incident per paged group, a sticky comment per PR, a ticket per finding, …
    incidents: holding.filter((h) => h.destination === 'pagerduty-oncall').length,
    prComments: [...prs].sort(),
    // The objects each destination holds (an incident, a comment, a ticket per group) and the pull requests
    // they name. What is in them is compared for the pager and the PR only: a finding two tools report keeps
    // the last report's data (severity, fix), which can still move it in or out of a vulnerability group.
    objects: Object.fromEntries(
      [...new Set(holding.map((h) => h.destination))].sort().map((d) => [
        d,
        holding
          .filter((h) => h.destination === d)
          .map((h) => h.route)
          .sort(),
      ]),
    ),
    paged: holding
      .filter((h) => h.destination === 'pagerduty-oncall')
      .map((h) =>
        open(h)
          .map((f) => f.fingerprint)
          .sort()
          .join(','),
      )
      .sort(),
  };
}

const withoutPrefix = ({ prefix: _p, ...state }: Awaited<ReturnType<typeof applyDay>>) => state;

describe('the correlation day gives the same final state in any order, with redeliveries', () => {
  const redis = testRedis();
  afterAll(() => redis.quit());
  let reference: ReturnType<typeof withoutPrefix>;

  it('in the order it happened: one incident, PR 42 holding the fixable criticals and the hardening proposal', async () => {
    reference = withoutPrefix(
      await applyDay(
        redis,
        INPUTS.map((_, i) => i),
      ),
    );
    expect(reference.incidents).toBe(1);
    expect(reference.prComments).toEqual(['acme/checkout#42']);
    expect(reference.objects['github-prs']).toEqual(['root/build-suggestions', 'root/fixable-vulns-to-developers']);
    expect(reference.suggestions.length).toBeGreaterThan(0);
    expect(reference.suggestions.filter((s) => s.code?.pullRequest === 42).length).toBeGreaterThan(0);
    // Six suggestions, routed as one proposal for the attacked workload and a low item for the debug pod, to each
    // destination of the route (the GitHub group holds the debug pod's item too, but no pull request names it).
    const rules = 'drop-privileges,image-and-deploy-checks,read-only-root-filesystem,remove-shells-and-block-exec,restrict-egress';
    expect(reference.proposals).toEqual([
      `github-prs lower Lower-priority hardening for Pod dev-shop/debug: restrict-egress`,
      `github-prs proposal Hardening proposal for Deployment prod-shop/checkout: ${rules}`,
      `jira-appsec lower Lower-priority hardening for Pod dev-shop/debug: restrict-egress`,
      `jira-appsec proposal Hardening proposal for Deployment prod-shop/checkout: ${rules}`,
    ]);
    expect(reference.image?.build).toMatchObject({ repo: 'acme/checkout', pullRequests: [42] });
  }, 60_000);

  it(`${RUNS} random orders with random redeliveries end in that same state`, async () => {
    const n = INPUTS.length;
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n)), { maxLength: 4 }),
        async (permutation, duplicates) => {
          const order = [...permutation];
          for (const [input, at] of duplicates) order.splice(Math.min(at, order.length), 0, input);
          const state = withoutPrefix(await applyDay(redis, order));
          const differs = (Object.keys(reference) as (keyof typeof reference)[]).filter((k) => JSON.stringify(state[k]) !== JSON.stringify(reference[k]));
          const findings = Object.keys(reference.findings).filter((fp) => JSON.stringify(state.findings[fp]) !== JSON.stringify(reference.findings[fp]));
          expect(
            state,
            `order ${order.join(',')}: ${differs.join(', ')} differ ${JSON.stringify(findings.map((fp) => [fp, reference.findings[fp], state.findings[fp]]))}`,
          ).toEqual(reference);
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 1_800_000);
});
