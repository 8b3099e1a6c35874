import { severityRank, toFinding, type Artifact, type Code, type Finding, type Severity, type Workload } from '@klaxon/findings';
import { SAMPLE_LIMIT, type DetectionEvidence } from './evidence';
import { targetFor } from './generators/names';
import { securityContextPatch } from './generators/security-context';
import type { FeedbackConfig, SecurityContext, SuggestionRule } from './rule-table';
import type { Suggestion, SuggestionSubject } from './suggestion';

/*
 * One remediation proposal per subject (docs/architecture.md, "Feedback to build time"). The per-rule
 * suggestions of a workload (or of an image repository when no workload is known) are consolidated
 * into at most two routed items, both with an id that depends on the subject only:
 *   - the proposal: every rule whose severity reaches `feedback.proposalMinSeverity`, one section per
 *     rule, the securityContext changes merged into one patch, the Dockerfile changes listed once, the
 *     evidence merged;
 *   - the lower-priority item: the rest (hygiene rules such as pinning image tags, deploy-time findings
 *     about a container other than the one attacked, and everything of a subject whose runtime
 *     detections are all rated below the threshold by their sensors).
 * Pure: the same suggestions give the same proposals whatever order their evidence arrived in.
 */

export const PROPOSAL_RULE = 'hardening-proposal';
export const LOWER_RULE = 'hardening-lower-priority';
export type ProposalTier = 'proposal' | 'lower';

/** A per-rule suggestion as shown (the stored record rendered with the table in force), adoption included. */
export type SuggestionView = Suggestion & { adoptedAt?: string };

export interface ProposalSection {
  suggestion: SuggestionView;
  /** The rule's severity, capped by the strongest detection behind it (orders the sections). */
  priority: Severity;
  /** Why it is in the lower-priority item (absent in a proposal). */
  lowerBecause?: string;
}

/** What a proposal merges from its sections' evidence. */
export interface ProposalEvidence {
  /** Occurrences of the detections behind it (one runtime event that backs two rules counts once). */
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** The tools that reported them. */
  sources: string[];
  detections: DetectionEvidence[];
}

export interface Proposal {
  /** The fingerprint of its finding: from the tier and the subject only, so it is updated in place. */
  id: string;
  tier: ProposalTier;
  title: string;
  severity: Severity;
  workload?: Workload;
  image?: Artifact;
  code?: Code;
  evidence: ProposalEvidence;
  changes: {
    /** One strategic-merge patch combining every securityContext rule of the proposal. */
    securityContextPatch?: string;
    dockerfile: string[];
    ci: string[];
  };
  sections: ProposalSection[];
}

function draft(tier: ProposalTier, subject: SuggestionSubject) {
  return {
    kind: 'suggestion' as const,
    stage: 'build' as const,
    source: { tool: 'klaxon', integration: 'feedback' },
    title: tier,
    severity: 'low' as Severity,
    rule: { id: tier === 'proposal' ? PROPOSAL_RULE : LOWER_RULE, name: tier === 'proposal' ? 'Hardening proposal' : 'Lower-priority hardening' },
    workload: subject.workload,
    artifact: subject.image,
    fixable: true,
    observedAt: '',
  };
}

/** The id of a subject's proposal (or lower-priority item): the workload, else the image repository. */
export function proposalId(tier: ProposalTier, subject: SuggestionSubject): string {
  return toFinding(draft(tier, subject)).fingerprint;
}

function subjectLabel(s: SuggestionSubject): string {
  const w = s.workload;
  if (w) return `${w.kind ? `${w.kind} ` : ''}${w.namespace}/${w.name}`;
  return s.image?.repository ?? 'unknown workload';
}

const maxSeverity = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);
const minSeverity = (a: Severity, b: Severity): Severity => (severityRank(a) <= severityRank(b) ? a : b);
const isRuntime = (d: DetectionEvidence) => d.stage !== 'deploy';

const strong = (s: SuggestionView, d: DetectionEvidence, threshold: Severity) => severityRank(d.severity ?? s.rule.severity) >= severityRank(threshold);

/** Whether a sensor saw something at or above the threshold at run time, and in which containers. */
function attackOf(suggestions: SuggestionView[], threshold: Severity): { attacked: boolean; containers: Set<string> } {
  const containers = new Set<string>();
  let attacked = false;
  for (const s of suggestions) {
    for (const d of s.evidence.detections) {
      if (!isRuntime(d) || !strong(s, d, threshold)) continue;
      attacked = true;
      d.containers?.forEach((c) => containers.add(c));
    }
  }
  return { attacked, containers };
}

/**
 * A rule's priority (its severity, capped by the strongest detection behind it) and, when it stays out
 * of the proposal, why: a rule below the threshold; on an attacked subject, a rule seen only at deploy
 * time in containers other than the attacked ones; on a subject nobody attacked, a rule backed only by
 * weak runtime detections. Tier membership depends on the subject's whole evidence, so a weak detection
 * that arrives before the strong one in another input only moves its rule once.
 */
export function sectionOf(s: SuggestionView, attack: { attacked: boolean; containers: Set<string> }, threshold: Severity): ProposalSection {
  const detections = s.evidence.detections;
  const strongest = detections.reduce<Severity | undefined>(
    (max, d) => (max ? maxSeverity(max, d.severity ?? s.rule.severity) : (d.severity ?? s.rule.severity)),
    undefined,
  );
  const priority = minSeverity(s.rule.severity, strongest ?? s.rule.severity);
  if (severityRank(s.rule.severity) < severityRank(threshold)) return { suggestion: s, priority, lowerBecause: `a ${s.rule.severity}-severity rule` };
  const elsewhere =
    attack.containers.size > 0 &&
    detections.length > 0 &&
    detections.every((d) => !isRuntime(d) && d.containers?.length && d.containers.every((c) => !attack.containers.has(c)));
  if (elsewhere)
    return { suggestion: s, priority, lowerBecause: `seen only in a container that was not attacked (${[...attack.containers].sort().join(', ')} was)` };
  if (!attack.attacked && detections.length > 0 && detections.every(isRuntime)) {
    return { suggestion: s, priority, lowerBecause: `backed only by runtime detections below ${threshold}` };
  }
  return { suggestion: s, priority };
}

/** Detections merged across sections: one runtime event behind two rules is counted once (max, not sum). */
function mergeEvidence(sections: ProposalSection[]): ProposalEvidence {
  const byRule = new Map<string, DetectionEvidence>();
  for (const { suggestion } of sections) {
    for (const d of suggestion.evidence.detections) {
      const known = byRule.get(d.rule);
      if (!known) {
        byRule.set(d.rule, { ...d, samples: [...d.samples], ...(d.containers ? { containers: [...d.containers] } : {}) });
        continue;
      }
      known.count = Math.max(known.count, d.count);
      if (d.firstSeen < known.firstSeen) known.firstSeen = d.firstSeen;
      if (d.lastSeen > known.lastSeen) known.lastSeen = d.lastSeen;
      known.samples = [...new Set([...known.samples, ...d.samples])].sort().slice(0, SAMPLE_LIMIT);
      if (d.severity) known.severity = known.severity ? maxSeverity(known.severity, d.severity) : d.severity;
      if (d.stage) known.stage = known.stage !== 'deploy' || d.stage !== 'deploy' ? 'runtime' : 'deploy';
      if (d.containers) known.containers = [...new Set([...(known.containers ?? []), ...d.containers])].sort();
    }
  }
  const detections = [...byRule.values()].sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  const times = detections
    .flatMap((d) => [d.firstSeen, d.lastSeen])
    .filter(Boolean)
    .sort();
  return {
    count: detections.reduce((n, d) => n + d.count, 0),
    firstSeen: times[0] ?? '',
    lastSeen: times[times.length - 1] ?? '',
    sources: [...new Set(detections.map((d) => d.tool))].sort(),
    detections,
  };
}

/** Every securityContext rule in one: scalars set, capabilities unioned, writable paths unioned. */
export function mergeSecurityContexts(rules: SuggestionRule[]): { securityContext?: SecurityContext; emptyDirs: string[] } {
  let merged: SecurityContext | undefined;
  const emptyDirs: string[] = [];
  for (const rule of rules) {
    const sc = rule.changes.securityContext;
    if (!sc) continue;
    const { capabilities, ...scalars } = sc;
    merged = { ...merged, ...scalars };
    if (capabilities) {
      const drop = [...new Set([...(merged.capabilities?.drop ?? []), ...(capabilities.drop ?? [])])];
      const add = [...new Set([...(merged.capabilities?.add ?? []), ...(capabilities.add ?? [])])];
      merged.capabilities = { ...(drop.length ? { drop } : {}), ...(add.length ? { add } : {}) };
    }
    for (const path of rule.changes.emptyDirs) if (!emptyDirs.includes(path)) emptyDirs.push(path);
  }
  return { securityContext: merged, emptyDirs };
}

function build(tier: ProposalTier, subject: SuggestionSubject, sections: ProposalSection[], table: SuggestionRule[]): Proposal {
  const rules = sections.flatMap((s) => table.filter((r) => r.id === s.suggestion.rule.id));
  const { securityContext, emptyDirs } = mergeSecurityContexts(rules);
  const first = sections[0]?.suggestion;
  const severity = tier === 'lower' ? 'low' : sections.reduce<Severity>((max, s) => maxSeverity(max, s.priority), 'info');
  return {
    id: proposalId(tier, subject),
    tier,
    title: `${tier === 'proposal' ? 'Hardening proposal' : 'Lower-priority hardening'} for ${subjectLabel(subject)}`,
    severity,
    workload: first?.workload ?? subject.workload,
    image: first?.image ?? subject.image,
    code: sections.find((s) => s.suggestion.code?.repo)?.suggestion.code,
    evidence: mergeEvidence(sections),
    changes: {
      securityContextPatch: securityContext
        ? securityContextPatch(targetFor(first?.workload ?? subject.workload, first?.image ?? subject.image), securityContext, emptyDirs)
        : undefined,
      dockerfile: [...new Set(sections.flatMap((s) => s.suggestion.changes.dockerfile))],
      ci: [...new Set(sections.flatMap((s) => s.suggestion.changes.ci))],
    },
    sections,
  };
}

/** The subject a suggestion's proposal is keyed by (its workload without the container, or its image). */
export function proposalSubject(s: Pick<Suggestion, 'workload' | 'image'>): SuggestionSubject {
  return s.workload ? { workload: s.workload, image: s.image } : { image: s.image };
}

/**
 * The proposal and the lower-priority item of each subject among `suggestions`, sections ordered by
 * priority then by the rule table. A tier without sections is returned too (`sections: []`) when the
 * subject has the other one, so a caller can withdraw what it routed before.
 */
export function consolidate(suggestions: SuggestionView[], table: SuggestionRule[], config: Pick<FeedbackConfig, 'proposalMinSeverity'>): Proposal[] {
  const threshold = config.proposalMinSeverity;
  const order = new Map(table.map((r, i) => [r.id, i]));
  const bySubject = new Map<string, SuggestionView[]>();
  for (const s of suggestions) {
    const key = proposalId('proposal', proposalSubject(s));
    bySubject.set(key, [...(bySubject.get(key) ?? []), s]);
  }
  const out: Proposal[] = [];
  for (const [, list] of [...bySubject].sort(([a], [b]) => a.localeCompare(b))) {
    const unique = [...new Map(list.map((s) => [s.id, s])).values()];
    const attack = attackOf(unique, threshold);
    const sections = unique
      .map((s) => sectionOf(s, attack, threshold))
      .sort(
        (a, b) =>
          severityRank(b.priority) - severityRank(a.priority) ||
          (order.get(a.suggestion.rule.id) ?? Infinity) - (order.get(b.suggestion.rule.id) ?? Infinity) ||
          a.suggestion.id.localeCompare(b.suggestion.id),
      );
    const subject = proposalSubject(unique[0]);
    out.push(
      build(
        'proposal',
        subject,
        sections.filter((s) => !s.lowerBecause),
        table,
      ),
    );
    out.push(
      build(
        'lower',
        subject,
        sections.filter((s) => s.lowerBecause),
        table,
      ),
    );
  }
  return out;
}

function evidenceSentence(e: ProposalEvidence): string {
  if (!e.count) return 'No evidence left.';
  return `Seen ${e.count} time${e.count === 1 ? '' : 's'} between ${e.firstSeen} and ${e.lastSeen} by ${e.sources.join(', ')}.`;
}

/**
 * The proposal as the one finding of kind `suggestion` that is routed for its subject: a Jira ticket, a
 * section of the PR comment. `raw.proposal` carries everything a renderer shows.
 */
export function proposalFinding(p: Proposal, eventId: string | undefined): Finding {
  const base = draft(p.tier, { workload: p.workload, image: p.image });
  const lines = p.sections.map((s) => `- ${s.suggestion.rule.title} (${s.priority}${s.lowerBecause ? `: ${s.lowerBecause}` : ''})`);
  return toFinding({
    ...base,
    title: p.title,
    severity: p.severity,
    description: [`${p.sections.length} change${p.sections.length === 1 ? '' : 's'}. ${evidenceSentence(p.evidence)}`, ...lines].join('\n'),
    source: { ...base.source, eventId },
    code: p.code,
    observedAt: p.evidence.lastSeen,
    remediation: p.sections.length ? `Apply the proposal: ${p.sections.map((s) => s.suggestion.rule.title.toLowerCase()).join('; ')}.` : undefined,
    labels: { 'klaxon.io/suggestion': base.rule.id, 'klaxon.io/proposal': p.tier },
    raw: { proposal: p },
  });
}

/** Reads back the proposal a `suggestion` finding carries (undefined for any other finding). */
export function proposalOf(finding: Finding): Proposal | undefined {
  if (finding.kind !== 'suggestion') return undefined;
  const p = finding.raw?.proposal;
  return p && typeof p === 'object' ? (p as Proposal) : undefined;
}
