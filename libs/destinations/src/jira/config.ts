import { z } from 'zod';
import { durationSchema, portSchema, requiredText } from '@klaxon/platform';
import type { DeliveryLimits } from '../destination';

export const jiraDestinationSchema = z
  .object({
    type: z.literal('jira'),
    protocol: z.enum(['http', 'https']).default('https'),
    host: requiredText('host'),
    port: portSchema.optional(),
    username: requiredText('username'),
    password: requiredText('password'),
    apiVersion: z.coerce.string().default('2'),
    project: requiredText('project'),
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
    priorities: z.object({ critical: z.string(), high: z.string(), medium: z.string(), low: z.string(), info: z.string() }).partial().strict().optional(),
    /** A finding seen again adds at most one comment per this interval to its open ticket. */
    commentEvery: durationSchema.default('24h'),
    /** One ticket per finding (default) or per notification group. */
    ticketPer: z.enum(['finding', 'group']).default('finding'),
  })
  .strict();

export type JiraDestinationConfig = z.output<typeof jiraDestinationSchema>;

/** Jira Cloud meters by cost per user; ten requests a second keeps a per-finding burst well inside it. */
export const JIRA_DELIVERY_LIMITS: DeliveryLimits = { rateLimit: { max: 10, per: 1_000 }, concurrency: 2 };
