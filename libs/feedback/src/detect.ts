import { matchesAll, type Finding } from '@klaxon/findings';
import type { Detection, SuggestionRule } from './rule-table';

function same(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** One `detect` item: every condition it states holds for the finding. */
export function detectionMatches(detection: Detection, finding: Finding): boolean {
  if (detection.tool && !same(finding.source.tool, detection.tool)) return false;
  if (detection.rule && !same(finding.rule.id, detection.rule) && !same(finding.rule.name, detection.rule)) return false;
  if (detection.ruleMatches && !detection.ruleMatches.test(finding.rule.id) && !detection.ruleMatches.test(finding.rule.name ?? '')) {
    return false;
  }
  if (detection.tags && !detection.tags.every((tag) => finding.rule.tags?.includes(tag))) return false;
  if (detection.match && !matchesAll(detection.match, finding)) return false;
  return true;
}

export interface Triggered {
  rule: SuggestionRule;
  /** The detect item that matched first (its `egress` says whether observed connections are legitimate). */
  detection: Detection;
}

/** The suggestions a finding triggers, each once, in table order. */
export function triggeredRules(table: SuggestionRule[], finding: Finding): Triggered[] {
  const out: Triggered[] = [];
  for (const rule of table) {
    const detection = rule.detect.find((d) => detectionMatches(d, finding));
    if (detection) out.push({ rule, detection });
  }
  return out;
}
