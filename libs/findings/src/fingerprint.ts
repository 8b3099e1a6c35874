import { createHash } from 'node:crypto';
import type { Finding, FindingDraft } from './model';

/**
 * The parts that identify the problem, not the occurrence (docs/architecture.md, "Fingerprints"):
 * - vulnerability: CVE + package + image repository (a rebuilt digest that still has it is the same finding);
 * - runtime: rule + workload + container image repository (pod restarts are not new findings);
 * - misconfiguration, policy, compliance: rule + resource (cluster, namespace, kind, name);
 * - code and secret: rule + repo (or image repository) + path (+ the tool's partial fingerprint);
 * - suggestion: rule + workload, or image repository when no workload is known.
 * The registry host is left out of the image identity so that Harbor's scan and the CI's Trivy
 * scan of the same repository (pushed as harbor.example.com/shop/checkout) meet in one finding.
 */
export function fingerprintParts(f: FindingDraft): string[] {
  const image = f.artifact?.repository ?? '';
  const resource = [f.workload?.cluster, f.workload?.namespace, f.workload?.kind, f.workload?.name].map((p) => p ?? '');
  switch (f.kind) {
    case 'vulnerability':
      return [f.rule.id, f.package?.name ?? '', image || f.code?.repo || ''];
    case 'runtime':
      return [f.rule.id, ...resource.slice(1), image];
    case 'misconfiguration':
    case 'policy':
    case 'compliance':
      // An image's own misconfiguration belongs to the image, whatever build context came with the report.
      if (f.workload) return [f.rule.id, ...resource];
      return image ? [f.rule.id, image, f.code?.path ?? ''] : [f.rule.id, f.code?.repo ?? '', f.code?.path ?? ''];
    case 'code':
    case 'secret':
      return [
        f.rule.id,
        image || f.code?.repo || '',
        f.code?.path ?? f.package?.path ?? '',
        f.code?.partialFingerprint ?? '',
      ];
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
