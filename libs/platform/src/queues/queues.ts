import { z } from 'zod';
import { batchSchema, findingSchema, followUpSchema } from '@klaxon/findings';

/** Queue names: the only place they are spelled. */
export const QUEUE = {
  ingest: 'ingest',
  triage: 'triage',
  route: 'route',
  feedback: 'feedback',
  /** Group timers: delayed jobs that flush a route's group when its groupWait/groupInterval/repeatInterval ends. */
  group: 'group',
  /** Exceptions that end (expiry or deletion): their suppressed findings are routed as new. */
  exceptions: 'exceptions',
  /** The retention sweep: one BullMQ job scheduler, so one run per interval whatever the number of replicas. */
  retention: 'retention',
} as const;

/**
 * One delivery queue per configured destination (`deliver.<destination name>`), so that each has its
 * own rate limit (BullMQ's limiter is per queue), workers, and 429 pause: one Slack workspace answering
 * 429 does not hold back another.
 */
export function deliverQueue(destination: string): string {
  return `deliver.${destination}`;
}

/**
 * One collector queue per follow-up kind (`collect.harbor-report`), so each pull has its own worker,
 * rate limit and credentials, the way each destination has its delivery queue.
 */
export function collectQueue(kind: string): string {
  return `collect.${kind}`;
}

/** Job names inside the queues. */
export const JOB = {
  ingest: 'ingest-event',
  triage: 'triage-batch',
  route: 'route-findings',
  deliver: 'deliver-notification',
  flushGroup: 'flush-group',
  releaseException: 'release-exception',
  collect: 'collect-follow-up',
  kubernetesResync: 'kubernetes-resync',
  feedback: 'runtime-feedback',
  retention: 'retention-sweep',
} as const;

export const ingestJobSchema = z.object({ eventId: z.string() });

export const triageJobSchema = z.object({ eventId: z.string(), batch: batchSchema });

/** `feedback`: the runtime findings of one triaged input (correlated, so `code` names the build when known). */
/** `relink`: runtime findings whose pull request or commit was learnt late; their suggestions follow, no evidence is added. */
export const feedbackJobSchema = z.object({ eventId: z.string(), findings: z.array(findingSchema), relink: z.boolean().optional() });
export type FeedbackJob = z.infer<typeof feedbackJobSchema>;

/**
 * `rescored`: an open finding whose risk changed with its context (a runtime detection, a new exposure)
 * so that the routes it matches changed; routing treats it as new to the routes it now reaches.
 * `updated`: a finding whose data grew without changing what it is (more evidence for a suggestion):
 * a group that told it already sends again with the new data among the open ones; elsewhere it is new.
 */
export const FINDING_CHANGES = ['new', 'regressed', 'resolved', 'unchanged', 'suppressed', 'unsuppressed', 'rescored', 'updated'] as const;
export const findingChangeSchema = z.object({
  change: z.enum(FINDING_CHANGES),
  finding: findingSchema,
});

/**
 * Why a route job exists: the input's own findings (`batch`), stored findings a context change rescored
 * (`rescore`), or findings an ended exception released. The event records rescore routing apart from
 * its batch's, so neither overwrites the other.
 */
export const ROUTE_CAUSES = ['batch', 'rescore', 'exception-release'] as const;
export type RouteCause = (typeof ROUTE_CAUSES)[number];

export const routeJobSchema = z.object({
  eventId: z.string().optional(),
  // Jobs queued before causes existed are the batch's own.
  cause: z.enum(ROUTE_CAUSES).default('batch'),
  changes: z.array(findingChangeSchema),
});

/** `seq` names the window: a timer for an older window of the same group finds nothing to do. */
export const flushGroupJobSchema = z.object({ groupId: z.string(), route: z.string(), seq: z.number().int() });

export const retentionJobSchema = z.object({}).passthrough();

export const releaseExceptionJobSchema = z.object({ exceptionId: z.string(), reason: z.enum(['expired', 'deleted']), at: z.string() });

/** A follow-up of input `eventId` for the collector (fetch Harbor's full report, …). */
export const collectJobSchema = z.object({ eventId: z.string(), followUp: followUpSchema });

/** A full list of one cluster by whichever collector takes it (queue `collect.kubernetes-resync`, one repeatable job per cluster). */
export const kubernetesResyncJobSchema = z.object({ cluster: z.string() });
export type KubernetesResyncJob = z.infer<typeof kubernetesResyncJobSchema>;

export type IngestJob = z.infer<typeof ingestJobSchema>;
export type TriageJob = z.infer<typeof triageJobSchema>;
export type FindingChange = z.infer<typeof findingChangeSchema>;
export type FindingChangeKind = FindingChange['change'];
export type RouteJob = z.infer<typeof routeJobSchema>;
export type FlushGroupJob = z.infer<typeof flushGroupJobSchema>;
export type ReleaseExceptionJob = z.infer<typeof releaseExceptionJobSchema>;
export type CollectJob = z.infer<typeof collectJobSchema>;
