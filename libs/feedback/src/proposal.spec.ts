import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Severity } from '@klaxon/findings';
import { accumulate, type Observation } from './evidence';
import { renderSuggestionsMarkdown } from './markdown';
import { consolidate, proposalFinding, proposalId, proposalOf, type SuggestionView } from './proposal';
import { feedbackConfigSchema, ruleTable } from './rule-table';
import { buildSuggestion, type SuggestionSubject } from './suggestion';

const config = feedbackConfigSchema.parse({});
const table = ruleTable(config);
const rule = (id: string) => table.find((r) => r.id === id)!;

const checkout: SuggestionSubject = {
  workload: { cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', container: 'checkout' },
  image: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2' },
};
const debug: SuggestionSubject = {
  workload: { cluster: 'prod-eu-1', namespace: 'dev-shop', kind: 'Pod', name: 'debug', container: 'debug' },
  image: { repository: 'busybox', tag: 'latest' },
};

type Seen = { rule: string; subject: SuggestionSubject; o: Observation };
const seen = (
  ruleId: string,
  subject: SuggestionSubject,
  detection: string,
  at: string,
  severity: Severity,
  stage: 'runtime' | 'deploy',
  container?: string,
  sample?: string,
): Seen => ({
  rule: ruleId,
  subject,
  o: { detection, tool: stage === 'runtime' ? 'falco' : 'kyverno', at, severity, stage, container, sample },
});

/** A day on one workload: the attack in `checkout`, hygiene and a config failure about the `proxy` sidecar, and a debug pod. */
const DAY: Seen[] = [
  seen('read-only-root-filesystem', checkout, 'Write below binary dir', '2026-11-23T09:00:00Z', 'high', 'runtime', 'checkout', 'cp x /usr/bin/x'),
  seen(
    'read-only-root-filesystem',
    checkout,
    'Launch Package Management Process in Container',
    '2026-11-23T09:01:00Z',
    'high',
    'runtime',
    'checkout',
    'apt-get install curl',
  ),
  seen(
    'remove-package-manager',
    checkout,
    'Launch Package Management Process in Container',
    '2026-11-23T09:01:00Z',
    'high',
    'runtime',
    'checkout',
    'apt-get install curl',
  ),
  seen('drop-privileges', checkout, 'PTRACE attached to process', '2026-11-23T09:05:00Z', 'critical', 'runtime', 'checkout'),
  seen('remove-shells-and-block-exec', checkout, 'Terminal shell in container', '2026-11-23T08:59:00Z', 'low', 'runtime', 'checkout', 'bash'),
  seen('pin-image-tags', checkout, 'disallow-latest-tag', '2026-11-23T07:00:00Z', 'medium', 'deploy', 'proxy'),
  seen('image-and-deploy-checks', checkout, 'Read sensitive file untrusted', '2026-11-23T09:03:00Z', 'medium', 'runtime', 'checkout'),
  seen('restrict-egress', debug, 'Unexpected outbound connection destination', '2026-11-23T09:25:00Z', 'info', 'runtime', 'debug'),
];

/** As the use case does it: observations folded per (rule, subject) in arrival order, then every suggestion rendered. */
function views(order: Seen[][]): SuggestionView[] {
  const evidence = new Map<string, { rule: string; subject: SuggestionSubject; evidence: ReturnType<typeof accumulate> }>();
  for (const batch of order) {
    const byKey = new Map<string, Seen[]>();
    for (const s of batch) byKey.set(`${s.rule}|${s.subject.workload?.name}`, [...(byKey.get(`${s.rule}|${s.subject.workload?.name}`) ?? []), s]);
    for (const [key, list] of byKey) {
      const before = evidence.get(key);
      evidence.set(key, {
        rule: list[0].rule,
        subject: list[0].subject,
        evidence: accumulate(
          before?.evidence,
          list.map((s) => s.o),
        ),
      });
    }
  }
  return [...evidence.values()].map((e) => buildSuggestion({ rule: rule(e.rule), subject: e.subject, evidence: e.evidence }, config));
}

const shape = (vs: SuggestionView[]) =>
  consolidate(vs, table, config).map((p) => ({
    ...p,
    sections: p.sections.map((s) => ({ rule: s.suggestion.rule.id, priority: s.priority, lowerBecause: s.lowerBecause, count: s.suggestion.evidence.count })),
  }));

describe('consolidate: one proposal per workload, lower-priority items apart', () => {
  const reference = consolidate(views([DAY]), table, config);
  const [proposal, lower] = reference.filter((p) => p.workload?.name === 'checkout');

  it('puts every rule backed by the attack in one proposal, ordered by priority then by the rule table', () => {
    expect(proposal.tier).toBe('proposal');
    expect(proposal.severity).toBe('high');
    // Priority is the rule's severity capped by its strongest detection: the shell was only a Falco Notice,
    // but the workload was attacked, so its rule belongs to the proposal.
    expect(proposal.sections.map((s) => [s.suggestion.rule.id, s.priority])).toEqual([
      ['drop-privileges', 'high'],
      ['read-only-root-filesystem', 'medium'],
      ['remove-package-manager', 'medium'],
      ['image-and-deploy-checks', 'medium'],
      ['remove-shells-and-block-exec', 'low'],
    ]);
    expect(proposal.id).toBe(proposalId('proposal', checkout));
  });

  it('merges the evidence: one event behind two rules counts once, sources and first/last seen over all sections', () => {
    expect(proposal.evidence).toMatchObject({ count: 5, firstSeen: '2026-11-23T08:59:00Z', lastSeen: '2026-11-23T09:05:00Z', sources: ['falco'] });
    expect(proposal.evidence.detections.find((d) => d.rule === 'Launch Package Management Process in Container')?.count).toBe(1);
  });

  it('merges every securityContext rule into one patch, and lists the Dockerfile changes once', () => {
    const patch = parseYaml(proposal.changes.securityContextPatch!);
    expect(patch.kind).toBe('Deployment');
    expect(patch.spec.template.spec.containers).toEqual([
      {
        name: 'checkout',
        securityContext: {
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
    ]);
    expect(proposal.changes.dockerfile.length).toBe(new Set(proposal.changes.dockerfile).size);
    expect(proposal.changes.dockerfile.some((h) => h.includes('multi-stage'))).toBe(true);
  });

  it('keeps hygiene in a separate low item, and the whole of a subject nobody attacked (only weak detections)', () => {
    expect(lower.tier).toBe('lower');
    expect(lower.severity).toBe('low');
    expect(lower.id).toBe(proposalId('lower', checkout));
    expect(lower.id).not.toBe(proposal.id);
    expect(Object.fromEntries(lower.sections.map((s) => [s.suggestion.rule.id, s.lowerBecause]))).toEqual({ 'pin-image-tags': 'a low-severity rule' });
    // The debug pod's only detection is a Falco Debug event: nobody attacked it, its rule is a low item.
    const other = reference.filter((p) => p.workload?.name === 'debug');
    expect(other.map((p) => [p.tier, p.sections.map((s) => s.lowerBecause)])).toEqual([
      ['proposal', []],
      ['lower', ['backed only by runtime detections below medium']],
    ]);
  });

  it('a deploy-time finding about a container nobody attacked stays lower even for a high-severity rule', () => {
    const sidecar = seen('drop-privileges', checkout, 'disallow-privilege-escalation', '2026-11-23T07:00:00Z', 'high', 'deploy', 'proxy');
    const withoutPtrace = DAY.filter((s) => s.rule !== 'drop-privileges');
    const [p, l] = consolidate(views([[...withoutPtrace, sidecar]]), table, config);
    expect(p.sections.map((s) => s.suggestion.rule.id)).not.toContain('drop-privileges');
    expect(l.sections.map((s) => s.suggestion.rule.id)).toContain('drop-privileges');
    // Without any attack, a deploy-time finding is the workload's proposal.
    const [alone] = consolidate(views([[sidecar]]), table, config);
    expect(alone.sections.map((s) => s.suggestion.rule.id)).toEqual(['drop-privileges']);
  });

  it('a strong detection arriving later makes the weakly seen subject attacked: its rule moves into the proposal', () => {
    const ptrace = seen('drop-privileges', debug, 'PTRACE attached to process', '2026-11-23T09:30:00Z', 'critical', 'runtime', 'debug');
    const [p, l] = consolidate(views([DAY.filter((s) => s.subject === debug), [ptrace]]), table, config);
    expect(p.sections.map((s) => s.suggestion.rule.id)).toEqual(['drop-privileges', 'restrict-egress']);
    expect(l.sections).toEqual([]);
  });

  it('the proposal finding has an id from the subject only and renders one Markdown section per rule', () => {
    const grown = consolidate(views([DAY, DAY]), table, config)[0];
    expect(proposalFinding(grown, 'evt_2').fingerprint).toBe(proposalFinding(proposal, 'evt_1').fingerprint);
    const finding = proposalFinding(proposal, 'evt_1');
    expect(finding).toMatchObject({ kind: 'suggestion', severity: 'high', rule: { id: 'hardening-proposal' } });
    expect(proposalOf(finding)?.sections).toHaveLength(5);
    const md = renderSuggestionsMarkdown([finding, proposalFinding(lower, 'evt_1')]);
    expect(md.match(/^## /gm)).toHaveLength(2);
    expect(md.indexOf('## 🛡️ Hardening proposal')).toBeLessThan(md.indexOf('## Lower-priority hardening'));
    expect(md.match(/^### \d+\. /gm)).toHaveLength(6);
    expect(md).toContain('(a low-severity rule)');
    expect(md.match(/kind: ClusterPolicy/g)!.length).toBeGreaterThanOrEqual(3);
    expect(md.match(/securityContext patch/g)).toHaveLength(1);
  });

  it('is the same whatever order, batching and redelivery the observations arrive in', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(DAY, { minLength: DAY.length, maxLength: DAY.length }),
        fc.array(fc.nat(DAY.length), { maxLength: 3 }),
        (shuffled, cuts) => {
          const points = [...new Set([0, ...cuts, shuffled.length])].sort((a, b) => a - b);
          const batches = points.slice(1).map((end, i) => shuffled.slice(points[i], end));
          expect(shape(views(batches))).toEqual(shape(views([DAY])));
          // The same suggestions listed in any order consolidate the same.
          expect(shape(views(batches).reverse())).toEqual(shape(views([DAY])));
        },
      ),
      { numRuns: 100 },
    );
  });
});
