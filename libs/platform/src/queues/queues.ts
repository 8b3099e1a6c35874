import { z } from 'zod';
import { batchSchema, findingSchema } from '@klaxon/findings';
import { notificationSchema } from '@klaxon/routing';

/** Queue names: the only place they are spelled. */
export const QUEUE = {
  ingest: 'ingest',
  triage: 'triage',
  route: 'route',
  feedback: 'feedback',
} as const;

export const DESTINATION_TYPES = ['slack', 'jira', 'pagerduty', 'github', 'webhook'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** One delivery queue per destination type, so each has its own rate limit and workers. */
export function deliverQueue(type: DestinationType): string {
  return `deliver.${type}`;
}

/** Job names inside the queues. */
export const JOB = {
  ingest: 'ingest-event',
  triage: 'triage-batch',
  route: 'route-findings',
  deliver: 'deliver-notification',
} as const;

export const ingestJobSchema = z.object({ eventId: z.string() });

export const triageJobSchema = z.object({ eventId: z.string(), batch: batchSchema });

export const FINDING_CHANGES = ['new', 'regressed', 'resolved', 'unchanged', 'suppressed', 'unsuppressed'] as const;
export const findingChangeSchema = z.object({
  change: z.enum(FINDING_CHANGES),
  finding: findingSchema,
});

export const routeJobSchema = z.object({ eventId: z.string().optional(), changes: z.array(findingChangeSchema) });

export const deliverJobSchema = z.object({ notification: notificationSchema });

export type IngestJob = z.infer<typeof ingestJobSchema>;
export type TriageJob = z.infer<typeof triageJobSchema>;
export type FindingChange = z.infer<typeof findingChangeSchema>;
export type FindingChangeKind = FindingChange['change'];
export type RouteJob = z.infer<typeof routeJobSchema>;
export type DeliverJob = z.infer<typeof deliverJobSchema>;
