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

/**
 * Building blocks of destination config schemas (each destination's folder in libs/destinations holds
 * its own). A destination endpoint: credentials in it would be quoted by every error and log line that
 * names the URL.
 */
export const endpointUrl = z
  .string()
  .url()
  .refine((text) => {
    // Refinements run on a value .url() already refused: that one is reported as not a URL, not thrown.
    if (!URL.canParse(text)) return true;
    const url = new URL(text);
    return !url.username && !url.password;
  }, "credentials in the URL (user:pass@) would end up in logs and dead letters; use the destination's secret or headers");
export const optionalText = z
  .string()
  .optional()
  .transform((v) => (v ? v : undefined));
export const requiredText = (what: string) => z.string({ required_error: 'required' }).min(1, `${what} must not be empty`);
export const portSchema = port;
const required = requiredText;

/** At most `max` sends per `per` (a duration), shared by every notifier replica: BullMQ's limiter on the destination's queue. */
export const rateLimitSchema = z
  .object({
    max: z.number({ required_error: 'required', invalid_type_error: 'a whole number of sends' }).int('a whole number of sends').positive('at least 1'),
    per: durationSchema.pipe(z.number().positive('a duration longer than 0')),
  })
  .strict();
export type RateLimit = z.output<typeof rateLimitSchema>;

/**
 * What the config parser needs to know of one destination type: the schema of its own keys (with its
 * `type` literal) and its default rate limit. libs/destinations' registry hands one per type to
 * `parseConfig`; platform knows no destination itself.
 */
export interface DestinationTypeSpec {
  readonly configSchema: z.ZodType<{ type: string }, z.ZodTypeDef, unknown>;
  readonly defaultLimits: { readonly rateLimit?: RateLimit };
}
export type DestinationTypes = Readonly<Record<string, DestinationTypeSpec>>;

/** A parsed destination: its type's own keys, and the rate limit in force (configured or its type's default; none: concurrency only). */
export interface DestinationConfig {
  type: string;
  rateLimit?: RateLimit;
  [key: string]: unknown;
}

/** A destination's name is part of its queue's name (`deliver.<name>`) and of its ledger keys. */
const DESTINATION_NAME = /^[A-Za-z0-9][\w.-]*$/;

/** Keys every destination has, whatever its type. */
const destinationEnvelope = z
  .object({
    type: z.string({ required_error: 'required', invalid_type_error: 'a destination type name' }).min(1, 'required'),
    rateLimit: rateLimitSchema.optional(),
  })
  .passthrough();

/**
 * `destinations:` name → destination. Each is checked by its type's own schema (from `types`), with
 * issues named `destinations.<name>.<field>`; a type not in `types` is refused with the list of them.
 */
function destinationsSchema(types: DestinationTypes) {
  const supported = Object.keys(types);
  return z
    .record(z.unknown())
    .transform((record, ctx) => {
      const out: Record<string, DestinationConfig> = {};
      // A destination with problems stays named, so routes that send to it are not reported as well.
      const failed = (name: string) => (out[name] = { type: '' });
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
      for (const [name, value] of Object.entries(record)) {
        if (!DESTINATION_NAME.test(name)) {
          issue([name], 'a destination name is letters, digits, ".", "_" and "-" (it names the queue deliver.<name>)');
        }
        const envelope = destinationEnvelope.safeParse(value);
        if (!envelope.success) {
          envelope.error.issues.forEach((i) => ctx.addIssue({ ...i, path: [name, ...i.path] }));
          failed(name);
          continue;
        }
        const { type, rateLimit, ...own } = envelope.data;
        const spec = Object.hasOwn(types, type) ? types[type] : undefined;
        if (!spec) {
          issue(
            [name, 'type'],
            supported.length
              ? `unknown destination type "${type}" (supported: ${supported.join(', ')})`
              : 'destination types are not known to this parser: parse the config with parseConfig of @klaxon/destinations',
          );
          failed(name);
          continue;
        }
        const parsed = spec.configSchema.safeParse({ type, ...own });
        if (!parsed.success) {
          parsed.error.issues.forEach((i) => ctx.addIssue({ ...i, path: [name, ...i.path] }));
          failed(name);
          continue;
        }
        const limit = rateLimit ?? spec.defaultLimits.rateLimit;
        out[name] = { ...parsed.data, ...(limit ? { rateLimit: limit } : {}) };
      }
      return out;
    })
    .default({});
}

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

/** `allowUnauthenticated: true` opens a webhook whose credentials are unset to anyone (off by default). */
const allowUnauthenticated = z.boolean().optional();
const integrationSecret = z.object({ secret: optionalText, token: optionalText, allowUnauthenticated }).strict();

const repoName = z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name');

/**
 * An API token: `admin` for everything, `ci` to upload reports and run the gate for the repositories it
 * names only. The secret itself comes from the environment (`tokenEnv`) or a file (`tokenFile`, e.g. a
 * mounted Kubernetes secret), never from the config's text, which is read by more people than the token.
 */
export const apiTokenSchema = z
  .object({
    name: required('name'),
    scope: z.enum(['admin', 'ci']),
    repos: z.array(repoName).optional(),
    tokenEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable')
      .optional(),
    tokenFile: z.string().min(1).optional(),
    /** Only to say why a literal is refused. */
    token: z.unknown().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.token !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['token'], message: "a token never goes in the config's text: use tokenEnv or tokenFile" });
    }
    if (!t.tokenEnv === !t.tokenFile) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tokenEnv'], message: 'one of tokenEnv or tokenFile' });
    if (t.scope === 'ci' && !t.repos?.length)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['repos'], message: 'a ci token names the repositories it may report for' });
    if (t.scope === 'admin' && t.repos)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['repos'], message: 'an admin token is not limited to repositories' });
  });

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

const bytes = z.coerce.number().int().positive();

/** BullMQ's crash recovery: a job whose worker died is taken up by another once its lock lapses. */
export const jobsConfigSchema = z
  .object({
    /** Lock of a running job, renewed at half; a dead worker's job is picked up again within about twice this. */
    stalledAfter: durationSchema.default('30s'),
    /** A job that stalled more often than this (it kills its worker) is dead-lettered instead of retried. */
    maxStalls: z.number().int().min(1).default(10),
  })
  .strict();

/** How long each kind of state is kept (README, "Retention"): every key either has a TTL or a sweep. */
export const retentionConfigSchema = z
  .object({
    /** Raw inputs and what became of them (GET /v1/events/{id}). */
    events: durationSchema.default('7d'),
    quarantine: z
      .object({
        keep: durationSchema.default('30d'),
        /** A quarantined body larger than this keeps its error and metadata, not its body (not replayable). */
        maxItemBytes: bytes.default(1_048_576),
        /** All quarantined bodies together; the oldest go first. */
        maxTotalBytes: bytes.default(268_435_456),
      })
      .strict()
      .default({}),
    /** A finding resolved this long ago is removed with its history and index entries. */
    resolvedFindings: durationSchema.default('30d'),
    /** A group idle this long past its repeat interval (nothing open, no timer) is removed; groups of removed routes at once. */
    idleGroups: durationSchema.default('1d'),
    /** What a destination created per notification key, refreshed at every send. */
    ledgers: durationSchema.default('90d'),
    /** Finished BullMQ jobs: completed ones (re-adding the same job id within this is a no-op), failed ones. */
    completedJobs: durationSchema.default('1d'),
    failedJobs: durationSchema.default('7d'),
    /** Per queue, whatever the age. */
    maxJobsKept: z.number().int().positive().default(50_000),
    deadLetters: durationSchema.default('30d'),
    maxDeadLetters: z.number().int().positive().default(10_000),
    /** How often the `retention` job sweeps index members (BullMQ job scheduler: one run per interval across replicas). */
    sweepEvery: durationSchema.default('1h'),
  })
  .strict();

const configObject = z
  .object({
    server: z
      .object({
        port: port.default(8080),
        maxBodyBytes: z.coerce.number().int().positive().default(26_214_400),
        /** One input with more findings is refused (413): a report that large is a mistake or an attack, and one job. */
        maxFindingsPerInput: z.coerce.number().int().positive().default(100_000),
        /** Requests a minute per intake source (a webhook's name, `reports`, `gate`), shared by all gateways; over it, 429. */
        intakeRateLimit: z
          .object({
            perMinute: z.coerce.number().int().positive().default(600),
            sources: z.record(z.coerce.number().int().positive()).default({}),
          })
          .strict()
          .default({}),
        /** SIGTERM: how long running jobs get to finish before the process exits anyway (theirs are then taken up as stalled). */
        shutdownGraceMs: z.coerce.number().int().positive().default(30_000),
      })
      .strict()
      .default({}),
    redis: z.object({ url: optionalText }).strict().default({}),
    auth: z
      .object({
        /** The admin token (KLAXON_API_TOKEN), kept for compatibility beside `tokens`. */
        apiToken: optionalText,
        tokens: z.array(apiTokenSchema).default([]),
      })
      .strict()
      .default({}),
    sources: z
      .object({
        github: z.object({ secret: optionalText }).strict().optional(),
        gitlab: z.object({ token: optionalText }).strict().optional(),
        harbor: z
          .object({ url: optionalText, username: optionalText, password: optionalText, webhookAuth: optionalText, allowUnauthenticated })
          .strict()
          .optional(),
        quay: integrationSecret.optional(),
        /** A plain registry (distribution/distribution, Docker Hub-compatible) posting its notification envelopes. */
        registry: integrationSecret.optional(),
        falco: integrationSecret.optional(),
        falcosidekick: integrationSecret.optional(),
        tetragon: integrationSecret.optional(),
        /** The ACS generic webhook: basic auth (username + password) or a bearer token. */
        stackrox: z
          .object({ token: optionalText, username: optionalText, password: optionalText, allowUnauthenticated })
          .strict()
          .refine((s) => !s.username === !s.password, { message: 'username and password go together (basic auth)' })
          .optional(),
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
        environments: z.array(z.object({ match: z.array(matcherSchema), environment: z.string().min(1) }).strict()).default([]),
        ownerLabels: z.array(z.string()).default(['team', 'owner', 'app.kubernetes.io/part-of']),
      })
      .strict()
      .default({}),
    destinations: destinationsSchema({}),
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
    jobs: jobsConfigSchema.default({}),
    retention: retentionConfigSchema.default({}),
  })
  .strict();

/** Every destination a route sends to is declared. */
function routesNameDeclaredDestinations(config: z.output<typeof configObject>, ctx: z.RefinementCtx): void {
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
}

/**
 * The config's schema, with `types` checking the destinations (libs/destinations passes its registry).
 * Without them, a config naming any destination is refused.
 */
export function configSchemaFor(types: DestinationTypes = {}) {
  return configObject.extend({ destinations: destinationsSchema(types) }).superRefine(routesNameDeclaredDestinations);
}

/** The config's schema without destination types: for sections other than `destinations`. */
export const configSchema = configSchemaFor();

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
export type ExceptionConfig = z.output<typeof exceptionSchema>;
export type RiskConfig = z.output<typeof riskConfigSchema>;
export type ApiTokenConfig = z.output<typeof apiTokenSchema>;
export type RetentionConfig = z.output<typeof retentionConfigSchema>;
export type JobsConfig = z.output<typeof jobsConfigSchema>;
