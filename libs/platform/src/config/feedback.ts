import { z } from 'zod';
import { matcherSchema, severitySchema } from '@klaxon/findings';

/*
 * The `feedback:` section of klaxon.yaml and the rule entries it overrides. Declared here, beside the
 * rest of the config, so that the config is validated in one pass; libs/feedback reads the rule files
 * (libs/feedback/src/rules/*.yaml) with the same schema and owns what the rules mean.
 */

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
    match: z.array(matcherSchema).min(1).optional(),
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
    seccompProfile: z
      .object({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']) })
      .strict()
      .optional(),
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
    /**
     * The threshold of a workload's hardening proposal: rules of at least this severity join it; a workload
     * counts as attacked when a runtime detection of at least this severity was seen in it. The rest is
     * the workload's separate lower-priority item (libs/feedback/src/proposal.ts).
     */
    proposalMinSeverity: severitySchema.default('medium'),
  })
  .strict()
  .default({});

export type Detection = z.output<typeof detectionSchema>;
export type SecurityContext = z.output<typeof securityContextSchema>;
export type SuggestionRule = z.output<typeof suggestionRuleSchema>;
export type SuggestionRuleOverride = z.output<typeof suggestionRuleOverrideSchema>;
export type FeedbackConfig = z.output<typeof feedbackConfigSchema>;
export type FeedbackConfigInput = z.input<typeof feedbackConfigSchema>;
