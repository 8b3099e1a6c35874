import { z } from 'zod';
import { findingSchema } from '@klaxon/findings';

/**
 * What one destination is told about one group of findings. `key` is stable for the group
 * (route + group labels), so a destination's ledger finds what it created for it earlier;
 * `id` is unique per send, so a retried job is recognised as the same send.
 */
export const notificationSchema = z.object({
  id: z.string(),
  key: z.string(),
  route: z.string(),
  destination: z.string(),
  groupLabels: z.record(z.string()),
  createdAt: z.string(),
  /** The input that caused this send, when one did. */
  eventId: z.string().optional(),
  /**
   * The group window that built it: later windows have higher numbers. A delivery retried after a
   * later one went out is older than what the destination shows (see Destination.showsLatestState).
   */
  seq: z.number().int().optional(),
  changes: z.object({
    new: z.array(findingSchema),
    regressed: z.array(findingSchema),
    resolved: z.array(findingSchema),
    /** Still open and already told. */
    open: z.array(findingSchema),
  }),
});

export type Notification = z.infer<typeof notificationSchema>;
export type NotificationChanges = Notification['changes'];

/** The job of a `deliver.<destination>` queue (named in libs/platform): one notification to one destination. */
export const deliverJobSchema = z.object({ notification: notificationSchema });
export type DeliverJob = z.infer<typeof deliverJobSchema>;

/** Every finding a notification mentions, in the order new, regressed, open, resolved. */
export function allFindings(n: Notification) {
  return [...n.changes.new, ...n.changes.regressed, ...n.changes.open, ...n.changes.resolved];
}
