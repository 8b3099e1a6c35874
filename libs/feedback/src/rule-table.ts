import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { issuePath } from '@klaxon/findings';
import { feedbackConfigSchema, suggestionRuleSchema, type FeedbackConfig, type SuggestionRule, type SuggestionRuleOverride } from '@klaxon/platform';

/*
 * The rule table: which runtime detections lead to which hardening suggestion. It is data
 * (libs/feedback/src/rules/*.yaml, overridable in klaxon.yaml under `feedback.rules`); the code only
 * knows how to match a detection and how to render the generators an entry names.
 */

export {
  detectionSchema,
  securityContextSchema,
  KYVERNO_GENERATORS,
  GATEKEEPER_GENERATORS,
  suggestionRuleSchema,
  suggestionRuleOverrideSchema,
  feedbackConfigSchema,
  type Detection,
  type SecurityContext,
  type SuggestionRule,
  type SuggestionRuleOverride,
  type FeedbackConfig,
  type FeedbackConfigInput,
} from '@klaxon/platform';

export const ruleFileSchema = z.object({ suggestions: z.array(suggestionRuleSchema) }).strict();

export class RuleTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleTableError';
  }
}

/** Parses one rules file; errors name the file and the path inside it. */
export function parseRuleFile(text: string, name: string): SuggestionRule[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new RuleTableError(`${name}: not valid YAML (${(err as Error).message})`);
  }
  const parsed = ruleFileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RuleTableError(`${name}: ${issuePath(issue.path)}: ${issue.message}`);
  }
  const ids = new Set<string>();
  for (const rule of parsed.data.suggestions) {
    if (ids.has(rule.id)) throw new RuleTableError(`${name}: duplicate suggestion id "${rule.id}"`);
    ids.add(rule.id);
  }
  return parsed.data.suggestions;
}

export const SHIPPED_RULES_DIR = resolve(__dirname, 'rules');

/** The table shipped with Klaxon: every `*.yaml` in libs/feedback/src/rules, in file-name order. */
export function loadShippedRules(dir = SHIPPED_RULES_DIR): SuggestionRule[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .flatMap((file) => parseRuleFile(readFileSync(join(dir, file), 'utf8'), file));
}

/**
 * Applies `feedback.rules` to a table: an override with a shipped id replaces the fields it names
 * (`disabled: true` removes the entry); a new id must be a complete rule.
 */
export function applyOverrides(table: SuggestionRule[], overrides: SuggestionRuleOverride[]): SuggestionRule[] {
  const byId = new Map(table.map((r) => [r.id, r]));
  overrides.forEach((override, i) => {
    const { disabled, ...fields } = override;
    if (disabled) {
      byId.delete(override.id);
      return;
    }
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const base = byId.get(override.id);
    if (base) {
      byId.set(override.id, { ...base, ...defined } as SuggestionRule);
      return;
    }
    // A new entry: its fields are already validated one by one; what it may lack is a required one.
    const missing = (['title', 'severity', 'why', 'detect'] as const).filter((key) => defined[key] === undefined);
    if (missing.length) {
      throw new RuleTableError(`feedback.rules[${i}] ("${override.id}") is not a shipped rule, so it needs ${missing.join(', ')}`);
    }
    byId.set(override.id, { changes: { emptyDirs: [], dockerfile: [], ci: [] }, policies: {}, checks: [], ...defined } as unknown as SuggestionRule);
  });
  return [...byId.values()];
}

/** The table in force: the shipped rules with the config's overrides applied. */
export function ruleTable(config: FeedbackConfig = feedbackConfigSchema.parse(undefined)): SuggestionRule[] {
  return applyOverrides(loadShippedRules(), config.rules);
}
