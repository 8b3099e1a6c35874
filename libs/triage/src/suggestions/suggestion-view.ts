import { buildSuggestion, type FeedbackConfig, type Suggestion, type SuggestionRule } from '@klaxon/feedback';
import type { StoredSuggestion } from './suggestion.repository';

/**
 * A stored suggestion rendered with the rule table and config in force now (so a changed rule or
 * `feedback.enforce` shows in the YAML at once). Undefined when its rule was removed from the table.
 */
export function viewOf(stored: StoredSuggestion, table: SuggestionRule[], config: FeedbackConfig): (Suggestion & { adoptedAt?: string }) | undefined {
  const rule = table.find((r) => r.id === stored.rule);
  if (!rule) return undefined;
  const suggestion = buildSuggestion(
    { rule, subject: { workload: stored.workload, image: stored.image }, code: stored.code, evidence: stored.evidence },
    config,
  );
  return { ...suggestion, adoptedAt: stored.adoptedAt };
}
