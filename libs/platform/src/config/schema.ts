import { z } from 'zod';
import { matcherSchema, type Matcher } from '@klaxon/findings';
import { feedbackConfigSchema } from './feedback';
import { parseDuration } from './duration';

export { matcherSchema };

export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not a duration like 30s, 5m, 4h, 1d` });
    return z.NEVER;
  }
  return ms;
});

const port = z.coerce.number().int().min(0).max(65535);
const optionalText = z.string().optional().transform((v) => (v ? v : undefined));
const required = (what: string) => z.string({ required_error: 'required' }).min(1, `${what} must not be empty`);

export const slackDestinationSchema = z
  .object({
    type: z.literal('slack'),
    token: required('token'),
    channel: required('channel'),
    apiUrl: z.string().url().default('https://slack.com/api/'),
  })
  .strict();

export const jiraDestinationSchema = z
  .object({
    type: z.literal('jira'),
    protocol: z.enum(['http', 'https']).default('https'),
    host: required('host'),
    port: port.optional(),
    username: required('username'),
    password: required('password'),
    apiVersion: z.coerce.string().default('2'),
    project: required('project'),
    issueType: z.string().default('Bug'),
    doneTransition: z.string().default('Done'),
    reopenTransition: z.string().default('Reopen'),
    /** Extra fields set on created issues: components, custom fields. */
    fields: z.record(z.unknown()).optional(),
    /** Team label value → Jira account id of the assignee. */
    assignees: z.record(z.string()).optional(),
    /** The finding label whose value picks the assignee from `assignees`. */
    assigneeLabel: z.string().default('team'),
    /** Klaxon severity → Jira priority name, for schemes that renamed them. */
    priorities: z
      .object({ critical: z.string(), high: z.string(), medium: z.string(), low: z.string(), info: z.string() })
      .partial()
      .strict()
      .optional(),
    /** A finding seen again adds at most one comment per this interval to its open ticket. */
    commentEvery: durationSchema.default('24h'),
    /** One ticket per finding (default) or per notification group. */
    ticketPer: z.enum(['finding', 'group']).default('finding'),
  })
  .strict();

export const pagerdutyDestinationSchema = z
  .object({
    type: z.literal('pagerduty'),
    routingKey: required('routingKey'),
    eventsUrl: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'the PagerDuty client speaks only https')
      .default('https://events.pagerduty.com/v2/enqueue'),
    /** PEM file of extra CAs trusted for eventsUrl: a self-hosted proxy with a private CA, or a test server. */
    caFile: optionalText,
  })
  .strict();

export const githubDestinationSchema = z
  .object({
    type: z.literal('github'),
    token: optionalText,
    appId: optionalText,
    privateKey: optionalText,
    installationId: optionalText,
    baseUrl: z.string().url().default('https://api.github.com'),
    checkRuns: z.boolean().default(false),
  })
  .strict()
  .superRefine((g, ctx) => githubAuthProblems(g).forEach((p) => ctx.addIssue({ code: z.ZodIssueCode.custom, ...p })));

/**
 * Only a GitHub App installation may write check runs: GitHub answers 403 to a personal, fine-grained,
 * OAuth or user-to-server token. Those are recognised by their prefixes (ghp_, github_pat_, gho_, ghu_)
 * and refused up front; an installation token (ghs_, such as the GITHUB_TOKEN of GitHub Actions) is
 * accepted, though it lasts an hour: appId and privateKey let Klaxon renew its own.
 */
const USER_TOKEN = /^(ghp_|github_pat_|gho_|ghu_)/;

function githubAuthProblems(g: { token?: string; appId?: string; privateKey?: string; checkRuns: boolean }): { path: string[]; message: string }[] {
  if (!g.token && !(g.appId && g.privateKey)) return [{ path: [], message: 'needs token, or appId and privateKey' }];
  if (g.checkRuns && g.token && USER_TOKEN.test(g.token)) {
    return [
      {
        path: ['checkRuns'],
        message:
          'only a GitHub App may create check runs (GitHub answers 403 to a personal or OAuth token): set appId, privateKey and installationId instead of token, or checkRuns: false',
      },
    ];
  }
  return [];
}

export const webhookDestinationSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.string().url(),
    secret: optionalText,
    headers: z.record(z.string()).optional(),
  })
  .strict();

export const destinationSchema = z.discriminatedUnion('type', [
  slackDestinationSchema,
  jiraDestinationSchema,
  pagerdutyDestinationSchema,
  // discriminatedUnion needs plain objects: the GitHub refinement runs in the config's superRefine.
  githubDestinationSchema.innerType(),
  webhookDestinationSchema,
]);

export interface RouteConfig {
  name?: string;
  match: Matcher[];
  to?: string[];
  groupBy?: string[];
  groupWait?: number;
  groupInterval?: number;
  repeatInterval?: number;
  continue: boolean;
  routes: RouteConfig[];
}

type RouteInput = {
  name?: string;
  match?: string[];
  to?: string[];
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  continue?: boolean;
  routes?: RouteInput[];
};

export const routeSchema: z.ZodType<RouteConfig, z.ZodTypeDef, RouteInput> = z.lazy(() =>
  z
    .object({
      name: z.string().optional(),
      match: z.array(matcherSchema).default([]),
      to: z.array(z.string()).optional(),
      groupBy: z.array(z.string()).optional(),
      groupWait: durationSchema.optional(),
      groupInterval: durationSchema.optional(),
      repeatInterval: durationSchema.optional(),
      continue: z.boolean().default(false),
      routes: z.array(routeSchema).default([]),
    })
    .strict(),
);

const integrationSecret = z.object({ secret: optionalText, token: optionalText }).strict();

/**
 * How correlation turns context into a 0-100 risk (libs/triage/src/risk). Every weight is the points
 * one fact adds; the defaults rank a fixable critical in an internet-facing production workload with a
 * live runtime detection above the same CVE in an idle development pod.
 */
export const riskConfigSchema = z
  .object({
    weights: z
      .object({
        /** Base points per severity; CVSS, when the tool gives one, scales `critical` instead. */
        critical: z.number().min(0).default(35),
        high: z.number().min(0).default(25),
        medium: z.number().min(0).default(12),
        low: z.number().min(0).default(5),
        info: z.number().min(0).default(0),
        fixable: z.number().min(0).default(5),
        exploited: z.number().min(0).default(20),
        /** Points at EPSS 1.0 (scaled by the probability). */
        epss: z.number().min(0).default(15),
        running: z.number().min(0).default(10),
        internetFacing: z.number().min(0).default(20),
        privileged: z.number().min(0).default(10),
        /** A runtime detection on the same workload within `runtimeWindowHours`, added to its vulnerabilities. */
        runtimeActivity: z.number().min(0).default(25),
        /** A fixable critical or high vulnerability in the image, added to a runtime detection. */
        vulnerableImage: z.number().min(0).default(35),
      })
      .strict()
      .default({}),
    /** Environment name (as `context.environments` assigns it) → points. Unlisted environments add nothing. */
    environments: z.record(z.number().min(0)).default({ production: 15, staging: 8 }),
    runtimeWindowHours: z.number().positive().default(24),
    /** A workload not seen for this long (no snapshot, no event) stops counting as running. */
    factsMaxAgeHours: z.number().positive().default(72),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({ port: port.default(8080), maxBodyBytes: z.coerce.number().int().positive().default(26_214_400) })
      .strict()
      .default({}),
    redis: z.object({ url: optionalText }).strict().default({}),
    auth: z.object({ apiToken: optionalText }).strict().default({}),
    sources: z
      .object({
        github: z.object({ secret: optionalText }).strict().optional(),
        gitlab: z.object({ token: optionalText }).strict().optional(),
        harbor: z
          .object({ url: optionalText, username: optionalText, password: optionalText, webhookAuth: optionalText })
          .strict()
          .optional(),
        quay: integrationSecret.optional(),
        /** A plain registry (distribution/distribution, Docker Hub-compatible) posting its notification envelopes. */
        registry: integrationSecret.optional(),
        falco: integrationSecret.optional(),
        falcosidekick: integrationSecret.optional(),
        tetragon: integrationSecret.optional(),
        stackrox: integrationSecret.optional(),
        alertmanager: integrationSecret.optional(),
        generic: integrationSecret.optional(),
        kubernetes: z
          .object({
            enabled: z.boolean().default(false),
            kubeconfig: optionalText,
            clusterName: z.string().default('default'),
            namespaces: z.array(z.string()).optional(),
            /** How often one collector lists the whole cluster to catch what watches missed (deletions while down). */
            resyncInterval: durationSchema.default('10m'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    context: z
      .object({
        environments: z
          .array(z.object({ match: z.array(matcherSchema), environment: z.string().min(1) }).strict())
          .default([]),
        ownerLabels: z.array(z.string()).default(['team', 'owner', 'app.kubernetes.io/part-of']),
      })
      .strict()
      .default({}),
    destinations: z.record(destinationSchema).default({}),
    routes: routeSchema,
    gate: z
      .object({
        failOn: z.array(matcherSchema).default([]),
        warnOn: z.array(matcherSchema).default([]),
        /** Fail on a finding whose risk (0-100, known for stored findings) is above this. */
        failOnRiskAbove: z.number().min(0).max(100).optional(),
        /** Fail when the report breaks a hardening suggestion the repo adopted (its config-scan checks). */
        failOnAdoptedSuggestions: z.boolean().default(true),
        /** Warn about unfixable findings that would fail if a fix existed (failOn without its `fixable` matchers). */
        warnOnUnfixable: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** Runtime-to-build suggestions: enforce generated policies, trusted registries, rule overrides. */
    feedback: feedbackConfigSchema,
    exceptionsFile: z.string().optional(),
    risk: riskConfigSchema.default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [name, dest] of Object.entries(config.destinations)) {
      if (dest.type === 'github') {
        githubAuthProblems(dest).forEach((p) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['destinations', name, ...p.path], message: p.message }));
      }
    }
    const walk = (route: RouteConfig, path: (string | number)[]) => {
      route.to?.forEach((dest, i) => {
        if (!config.destinations[dest]) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [...path, 'to', i],
            message: `unknown destination "${dest}" (declared: ${Object.keys(config.destinations).join(', ') || 'none'})`,
          });
        }
      });
      route.routes.forEach((child, i) => walk(child, [...path, 'routes', i]));
    };
    walk(config.routes, ['routes']);
  });

export const exceptionSchema = z
  .object({
    id: z.string().min(1),
    match: z.array(matcherSchema).min(1, 'an exception needs at least one matcher'),
    reason: required('reason'),
    owner: required('owner'),
    created: z.coerce.date().optional(),
    expires: z.coerce.date().optional(),
    permanent: z.boolean().default(false),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.expires && !e.permanent) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['expires'], message: 'required unless permanent: true' });
    }
  });

export const exceptionsFileSchema = z.object({ exceptions: z.array(exceptionSchema).default([]) }).strict();

export type KlaxonConfig = z.output<typeof configSchema>;
export type DestinationConfig = z.output<typeof destinationSchema>;
export type SlackDestinationConfig = z.output<typeof slackDestinationSchema>;
export type JiraDestinationConfig = z.output<typeof jiraDestinationSchema>;
export type PagerDutyDestinationConfig = z.output<typeof pagerdutyDestinationSchema>;
export type GitHubDestinationConfig = z.output<typeof githubDestinationSchema>;
export type WebhookDestinationConfig = z.output<typeof webhookDestinationSchema>;
export type ExceptionConfig = z.output<typeof exceptionSchema>;
export type RiskConfig = z.output<typeof riskConfigSchema>;
