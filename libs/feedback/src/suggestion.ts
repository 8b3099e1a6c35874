import { toFinding, type Artifact, type Code, type Finding, type Severity, type Workload } from '@klaxon/findings';
import type { Evidence } from './evidence';
import { gatekeeperSecurityContextConstraint, gatekeeperSecurityContextTemplate } from './generators/gatekeeper';
import { kyvernoDenyExec, kyvernoSecurityContext, kyvernoTrustedRegistry, type PolicyMeta } from './generators/kyverno';
import { targetFor } from './generators/names';
import { observedEgressNetworkPolicy } from './generators/network-policy';
import { execBreakGlassRbac } from './generators/rbac';
import { securityContextPatch } from './generators/security-context';
import type { FeedbackConfig, SuggestionRule } from './rule-table';

/** Who a suggestion is about: the workload when the sensor named it, else the image repository. */
export interface SuggestionSubject {
  workload?: Workload;
  image?: Artifact;
}

/** A hardening suggestion, ready to show: why, the evidence, the change, and the policy. */
export interface Suggestion {
  /** The fingerprint of its `suggestion` finding: one per (workload or image repository, rule). */
  id: string;
  rule: { id: string; title: string; why: string; severity: Severity };
  workload?: Workload;
  image?: Artifact;
  /** The repo (and PR) that built the image, when known: where the suggestion is delivered. */
  code?: Code;
  evidence: Evidence;
  changes: {
    /** Strategic-merge patch for the workload (or the container snippet without one). */
    securityContextPatch?: string;
    dockerfile: string[];
    ci: string[];
    rbac?: string;
    networkPolicy?: string;
  };
  policies: {
    kyverno?: string;
    gatekeeper?: { template: string; constraint: string };
  };
  /** Config-scan check ids a CI report violates once the suggestion is adopted. */
  checks: string[];
}

export interface SuggestionInput {
  rule: SuggestionRule;
  subject: SuggestionSubject;
  code?: Code;
  evidence: Evidence;
}

/** The identity part of a subject: what makes two runtime findings land on the same suggestion. */
export function subjectOf(finding: Pick<Finding, 'workload' | 'artifact'>): SuggestionSubject {
  const w = finding.workload;
  const workload = w?.namespace && w.name ? { cluster: w.cluster, namespace: w.namespace, kind: w.kind, name: w.name, container: w.container } : undefined;
  const image = finding.artifact?.repository ? finding.artifact : undefined;
  return { workload, image };
}

function draft(rule: SuggestionRule, subject: SuggestionSubject) {
  return {
    kind: 'suggestion' as const,
    stage: 'build' as const,
    source: { tool: 'klaxon', integration: 'feedback' },
    title: rule.title,
    severity: rule.severity,
    rule: { id: rule.id, name: rule.title },
    workload: subject.workload,
    artifact: subject.image,
    fixable: true,
    observedAt: '',
  };
}

/** Deduplication key: one suggestion per (workload, rule), or per (image repository, rule). */
export function suggestionId(rule: SuggestionRule, subject: SuggestionSubject): string {
  return toFinding(draft(rule, subject)).fingerprint;
}

function subjectLabel(s: SuggestionSubject): string {
  const w = s.workload;
  if (w) return `${w.kind ? `${w.kind} ` : ''}${w.namespace}/${w.name}`;
  return s.image?.repository ?? 'unknown workload';
}

function evidenceSentence(e: Evidence): string {
  const parts = e.detections.map((d) => `"${d.rule}" ×${d.count}`);
  return `Seen ${e.count} time${e.count === 1 ? '' : 's'} between ${e.firstSeen} and ${e.lastSeen}: ${parts.join(', ')}.`;
}

/** Builds the suggestion (patches and policies included) from its rule, subject and evidence. Pure. */
export function buildSuggestion(input: SuggestionInput, config: Pick<FeedbackConfig, 'enforce' | 'trustedRegistries'>): Suggestion {
  const { rule, subject, evidence } = input;
  const id = suggestionId(rule, subject);
  const target = targetFor(subject.workload, subject.image);
  const meta: PolicyMeta = {
    id: rule.id,
    suggestionId: id,
    title: rule.title,
    description: `${rule.why} ${subjectLabel(subject)}: ${evidenceSentence(evidence)}`,
    severity: rule.severity,
    enforce: config.enforce,
  };
  const sc = rule.changes.securityContext;
  const policies: Suggestion['policies'] = {};
  switch (rule.policies.kyverno) {
    case 'security-context':
      if (sc) policies.kyverno = kyvernoSecurityContext(meta, target, sc);
      break;
    case 'deny-exec':
      policies.kyverno = kyvernoDenyExec(meta, target);
      break;
    case 'trusted-registry': {
      const registries = config.trustedRegistries.length ? config.trustedRegistries : subject.image?.registry ? [subject.image.registry] : [];
      if (registries.length) policies.kyverno = kyvernoTrustedRegistry(meta, target, registries);
      break;
    }
  }
  if (rule.policies.gatekeeper === 'security-context' && sc) {
    policies.gatekeeper = { template: gatekeeperSecurityContextTemplate(), constraint: gatekeeperSecurityContextConstraint(meta, target, sc) };
  }
  return {
    id,
    rule: { id: rule.id, title: rule.title, why: rule.why, severity: rule.severity },
    workload: subject.workload,
    image: subject.image,
    code: input.code,
    evidence,
    changes: {
      securityContextPatch: sc ? securityContextPatch(target, sc, rule.changes.emptyDirs) : undefined,
      dockerfile: rule.changes.dockerfile,
      ci: rule.changes.ci,
      rbac: rule.changes.rbac === 'exec-break-glass' ? execBreakGlassRbac(target) : undefined,
      networkPolicy:
        rule.changes.networkPolicy === 'observed-egress'
          ? observedEgressNetworkPolicy(target, evidence.egress, { from: evidence.firstSeen, to: evidence.lastSeen }, id)
          : undefined,
    },
    policies,
    checks: rule.checks,
  };
}

function remediation(s: Suggestion): string {
  const steps: string[] = [];
  if (s.changes.securityContextPatch) steps.push('apply the securityContext patch');
  if (s.changes.dockerfile.length) steps.push('change the Dockerfile as hinted');
  if (s.changes.rbac) steps.push('restrict pods/exec to a break-glass role');
  if (s.changes.networkPolicy) steps.push('review and apply the NetworkPolicy');
  if (s.policies.kyverno || s.policies.gatekeeper) steps.push('adopt the policy (audit first)');
  return `${s.rule.title}: ${steps.join(', ')}.`;
}

/**
 * The suggestion as a finding of kind `suggestion`, so it is stored, routed and delivered like any
 * other (docs/architecture.md, "The Finding model"). `raw.suggestion` carries everything a renderer shows.
 */
export function suggestionFinding(s: Suggestion, eventId: string | undefined): Finding {
  const base = draft({ id: s.rule.id, title: s.rule.title, severity: s.rule.severity } as SuggestionRule, s);
  return toFinding({
    ...base,
    title: `${s.rule.title} (${subjectLabel(s)})`,
    description: `${s.rule.why} ${evidenceSentence(s.evidence)}`,
    source: { ...base.source, eventId },
    artifact: s.image,
    code: s.code,
    observedAt: s.evidence.lastSeen,
    remediation: remediation(s),
    labels: { 'klaxon.io/suggestion': s.rule.id },
    raw: { suggestion: s },
  });
}

/** Reads back the suggestion a `suggestion` finding carries (undefined for any other finding). */
export function suggestionOf(finding: Finding): Suggestion | undefined {
  if (finding.kind !== 'suggestion') return undefined;
  const s = finding.raw?.suggestion;
  return s && typeof s === 'object' ? (s as Suggestion) : undefined;
}
