import { matchesAll, type Finding } from '@klaxon/findings';
import type { Detection, SuggestionRule } from './rule-table';

/** A finding's names as `detect` compares them, case-insensitively: lowered once per finding, not per rule. */
interface Names {
  tool: string;
  ruleId: string;
  ruleName?: string;
}

const namesOf = (finding: Finding): Names => ({
  tool: finding.source.tool.toLowerCase(),
  ruleId: finding.rule.id.toLowerCase(),
  ruleName: finding.rule.name?.toLowerCase(),
});

/** A detect item's tool and rule, lowered once per table entry. */
const lowered = new WeakMap<Detection, { tool?: string; rule?: string }>();
function loweredOf(detection: Detection): { tool?: string; rule?: string } {
  let l = lowered.get(detection);
  if (!l) lowered.set(detection, (l = { tool: detection.tool?.toLowerCase(), rule: detection.rule?.toLowerCase() }));
  return l;
}

/** One `detect` item: every condition it states holds for the finding (its names lowered by namesOf). */
function matches(detection: Detection, finding: Finding, names: Names): boolean {
  const l = loweredOf(detection);
  if (l.tool && names.tool !== l.tool) return false;
  if (l.rule && names.ruleId !== l.rule && names.ruleName !== l.rule) return false;
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
  const names = namesOf(finding);
  for (const rule of table) {
    const detection = firstMatch(rule, finding, names);
    if (detection) out.push({ rule, detection });
  }
  return out;
}

/** Whether a finding triggers any suggestion of the table: most runtime findings trigger none. */
export function triggersAny(table: SuggestionRule[], finding: Finding): boolean {
  const names = namesOf(finding);
  for (const rule of table) if (firstMatch(rule, finding, names)) return true;
  return false;
}

// A loop, not detect.find(closure): it runs for every rule on every runtime finding.
function firstMatch(rule: SuggestionRule, finding: Finding, names: Names): Detection | undefined {
  for (const d of rule.detect) if (matches(d, finding, names)) return d;
  return undefined;
}
