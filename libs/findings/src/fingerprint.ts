import { createHash } from 'node:crypto';
import type { Finding, FindingDraft } from './model';

/**
 * The parts that identify the problem, not the occurrence (docs/architecture.md, "Fingerprints"):
 * - vulnerability: CVE + package + image repository (a rebuilt digest that still has it is the same finding);
 * - runtime: rule + workload + container image repository (pod restarts are not new findings); the
 *   behaviour instead of the rule when known, so that Falco's and StackRox's words for one exec meet;
 * - misconfiguration, policy, compliance: rule + resource (cluster, namespace, kind, name);
 * - code and secret: rule + repo (or image repository) + path (+ the tool's partial fingerprint);
 * - suggestion: rule + workload, or image repository when no workload is known.
 * The registry host is left out of the image identity so that Harbor's scan and the CI's Trivy
 * scan of the same repository (pushed as harbor.example.com/shop/checkout) meet in one finding.
 */
/** `AVD-DS-0002`, `DS-0002`, `DS002`: a Trivy check id as its JSON AVDID, newer IDs and older IDs (and SARIF) write it. */
const TRIVY_CHECK = /^(?:AVD-)?([A-Z]{2,6})-?(\d{1,4})$/i;

/**
 * One spelling of a Trivy check id (`AVD-DS-0002`), so that the JSON report (AVDID), its SARIF (ID) and
 * Trivy Operator (checkID) meet in one misconfiguration. Other ids are returned as they are.
 */
export function canonicalCheckId(id: string): string {
  const match = TRIVY_CHECK.exec(id);
  return match ? `AVD-${match[1].toUpperCase()}-${match[2].padStart(4, '0')}` : id;
}

export function fingerprintParts(f: FindingDraft): string[] {
  const image = f.artifact?.repository ?? '';
  const resource = [f.workload?.cluster, f.workload?.namespace, f.workload?.kind, f.workload?.name].map((p) => p ?? '');
  switch (f.kind) {
    case 'vulnerability':
      return [f.rule.id, f.package?.name ?? '', image || f.code?.repo || ''];
    case 'runtime':
      return [f.behaviour ? `behaviour:${f.behaviour}` : f.rule.id, ...resource.slice(1), image];
    case 'misconfiguration':
    case 'policy':
    case 'compliance': {
      const rule = f.kind === 'misconfiguration' ? canonicalCheckId(f.rule.id) : f.rule.id;
      // An image's own misconfiguration belongs to the image, whatever build context came with the report.
      if (f.workload) return [rule, ...resource];
      return image ? [rule, image, f.code?.path ?? ''] : [rule, f.code?.repo ?? '', f.code?.path ?? ''];
    }
    case 'code':
    case 'secret':
      return [f.rule.id, image || f.code?.repo || '', f.code?.path ?? f.package?.path ?? '', f.code?.partialFingerprint ?? ''];
    case 'suggestion':
      return f.workload ? [f.rule.id, ...resource] : [f.rule.id, image];
  }
}

export function fingerprintOf(f: FindingDraft): string {
  return createHash('sha256')
    .update([f.kind, ...fingerprintParts(f)].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}

/** Completes a parser's draft into a Finding: defaults filled, fingerprint computed. */
export function toFinding(draft: FindingDraft): Finding {
  return {
    ...draft,
    labels: draft.labels ?? {},
    rule: { ...draft.rule, references: draft.rule.references ?? [] },
    fingerprint: fingerprintOf(draft),
  };
}
