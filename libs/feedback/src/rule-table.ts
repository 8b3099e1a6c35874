import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MatcherSyntaxError, parseMatcher, severitySchema, type Matcher } from '@klaxon/findings';

/*
 * The rule table: which runtime detections lead to which hardening suggestion. It is data
 * (libs/feedback/src/rules/*.yaml, overridable in klaxon.yaml under `feedback.rules`); the code only
 * knows how to match a detection and how to render the generators an entry names.
 */

const matcherText = z.string().transform((text, ctx): Matcher => {
  try {
    return parseMatcher(text);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: err instanceof MatcherSyntaxError ? err.message : String(err) });
    return z.NEVER;
  }
});

/** Anchored and case-insensitive: rule names are written by people (`Ubuntu Package Manager Execution`). */
const regexText = z.string().transform((text, ctx) => {
  try {
    return new RegExp(`^(?:${text})$`, 'i');
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `invalid regular expression: ${(err as Error).message}` });
    return z.NEVER;
  }
});

export const detectionSchema = z
  .object({
    /** The tool that reported it: falco, tetragon, stackrox, kyverno, trivy-operator. */
    tool: z.string().optional(),
    /** Exact rule id (Falco rule name, ACS policy name, Kyverno policy), compared case-insensitively. */
    rule: z.string().optional(),
    ruleMatches: regexText.optional(),
    /** Every one of these tags is on the finding (Falco tags). */
    tags: z.array(z.string()).min(1).optional(),
    /** Route-style matchers over the finding (`raw.process.binary =~ .+apk`). */
    match: z.array(matcherText).min(1).optional(),
    /** Connections seen by this detection are not legitimate (C2, miner pools): listed as denied, never allowed. */
    egress: z.enum(['allow', 'deny']).default('allow'),
  })
  .strict()
  .refine((d) => d.rule || d.ruleMatches || d.tags || d.match || d.tool, { message: 'needs at least one of tool, rule, ruleMatches, tags, match' });

const capabilitiesSchema = z.object({ drop: z.array(z.string()).optional(), add: z.array(z.string()).optional() }).strict();

/** The container securityContext fields a suggestion may set (Kubernetes core/v1 SecurityContext). */
export const securityContextSchema = z
  .object({
    readOnlyRootFilesystem: z.boolean().optional(),
    runAsNonRoot: z.boolean().optional(),
    runAsUser: z.number().int().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    privileged: z.boolean().optional(),
    capabilities: capabilitiesSchema.optional(),
    seccompProfile: z.object({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']) }).strict().optional(),
  })
  .strict();

export const KYVERNO_GENERATORS = ['security-context', 'deny-exec', 'trusted-registry'] as const;
export const GATEKEEPER_GENERATORS = ['security-context'] as const;

export const suggestionRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    title: z.string().min(1),
    severity: severitySchema,
    why: z.string().min(1),
    detect: z.array(detectionSchema).min(1, 'a suggestion needs at least one detection'),
    changes: z
      .object({
        securityContext: securityContextSchema.optional(),
        /** Writable paths the app still needs once the root filesystem is read-only. */
        emptyDirs: z.array(z.string().startsWith('/')).default([]),
        dockerfile: z.array(z.string()).default([]),
        ci: z.array(z.string()).default([]),
        rbac: z.enum(['exec-break-glass']).optional(),
        networkPolicy: z.enum(['observed-egress']).optional(),
      })
      .strict()
      .default({}),
    policies: z
      .object({ kyverno: z.enum(KYVERNO_GENERATORS).optional(), gatekeeper: z.enum(GATEKEEPER_GENERATORS).optional() })
      .strict()
      .default({}),
    /** Config-scan check ids (Trivy KSV/DS) a CI report fails once this suggestion is adopted. */
    checks: z.array(z.string()).default([]),
  })
  .strict();

export const ruleFileSchema = z.object({ suggestions: z.array(suggestionRuleSchema) }).strict();

/** An entry of `feedback.rules` in klaxon.yaml: replaces the named fields of a shipped rule, or adds one. */
export const suggestionRuleOverrideSchema = suggestionRuleSchema
  .partial()
  .extend({ id: z.string().min(1), disabled: z.boolean().optional() })
  .strict();

/** The `feedback:` section of klaxon.yaml. */
export const feedbackConfigSchema = z
  .object({
    /** Generated policies block (Kyverno Enforce, Gatekeeper deny) instead of auditing. */
    enforce: z.boolean().default(false),
    /** Registries the trusted-registry policy admits; default: the registry the image came from. */
    trustedRegistries: z.array(z.string()).default([]),
    rules: z.array(suggestionRuleOverrideSchema).default([]),
  })
  .strict()
  .default({});

export type Detection = z.output<typeof detectionSchema>;
export type SecurityContext = z.output<typeof securityContextSchema>;
export type SuggestionRule = z.output<typeof suggestionRuleSchema>;
export type SuggestionRuleOverride = z.output<typeof suggestionRuleOverrideSchema>;
export type FeedbackConfig = z.output<typeof feedbackConfigSchema>;
export type FeedbackConfigInput = z.input<typeof feedbackConfigSchema>;

export class RuleTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleTableError';
  }
}

function issuePath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
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
