import { z } from 'zod';
import type { Finding, Severity } from '@klaxon/findings';

/**
 * A finding in a notification: a record the pipeline validated when it came in (ingest) and stored, so
 * a hop checks its shape only (`fingerprint`, `severity`), not every field again.
 */
const findingRecord = z.custom<Finding>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Finding).fingerprint === 'string' && typeof (v as Finding).severity === 'string',
  { message: 'expected a finding record' },
);

const toldSchema = z.object({
  count: z.number().int(),
  bySeverity: z.record(z.number().int()),
  fingerprints: z.array(z.string()),
});
export type ToldOpen = z.infer<typeof toldSchema>;

const countsSchema = z.object({ count: z.number().int(), bySeverity: z.record(z.number().int()) });
export type ListCounts = z.infer<typeof countsSchema>;

/** The change lists a destination may be sent only the first records of (`changes.more` counts the rest). */
export const SHORTENED_LISTS = ['new', 'regressed', 'resolved'] as const;
export type ShortenedList = (typeof SHORTENED_LISTS)[number];

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
    new: z.array(findingRecord),
    regressed: z.array(findingRecord),
    resolved: z.array(findingRecord),
    /**
     * Records of findings still open and already told: those whose data changed in this window
     * (`updated`), and every one for a route with a destination that lists every open finding (GitHub; see DestinationDescriptor.listsEveryOpenFinding).
     */
    open: z.array(findingRecord),
    /**
     * Every finding still open and already told, as a count, counts by severity and fingerprints: a
     * group's notifications do not carry its whole history of records each window. Absent in
     * notifications of earlier versions, whose `open` had every record.
     */
    told: toldSchema.optional(),
    /**
     * Records a destination could not show, left out of its notification and counted here, per list: a
     * Slack message lists 20 findings of a severity, so a report of 5,000 new ones is not carried whole to
     * it (DestinationDescriptor.shows). Absent when every record is carried.
     */
    more: z.object({ new: countsSchema, regressed: countsSchema, resolved: countsSchema }).partial().optional(),
  }),
});

export type Notification = z.infer<typeof notificationSchema>;
export type NotificationChanges = Notification['changes'];

/** The job of a `deliver.<destination>` queue (named in libs/platform): one notification to one destination. */
export const deliverJobSchema = z.object({ notification: notificationSchema });
export type DeliverJob = z.infer<typeof deliverJobSchema>;

/** What is still open and already told: `changes.told`, or for a notification of an earlier version, its `open` records counted. */
export function stillOpen(n: Notification): ToldOpen {
  if (n.changes.told) return n.changes.told;
  const bySeverity: Record<string, number> = {};
  for (const f of n.changes.open) bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
  return { count: n.changes.open.length, bySeverity: bySeverity as Partial<Record<Severity, number>>, fingerprints: n.changes.open.map((f) => f.fingerprint) };
}

/** How many findings a change list holds: the records carried plus those counted in `more`. */
export function listCount(n: Notification, list: ShortenedList): number {
  return n.changes[list].length + (n.changes.more?.[list]?.count ?? 0);
}

/** A change list's findings by severity, carried and counted. */
export function listBySeverity(n: Notification, list: ShortenedList): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of n.changes[list]) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  for (const [severity, count] of Object.entries(n.changes.more?.[list]?.bySeverity ?? {})) counts[severity] = (counts[severity] ?? 0) + count;
  return counts;
}

/**
 * The notification with each change list cut to what `keep` picks of it (the records a destination can
 * show); what is left out is counted in `changes.more`. Pure; `keep` returns a subset of its input.
 */
export function shortenNotification(n: Notification, keep: (findings: Finding[]) => Finding[]): Notification {
  const changes = { ...n.changes };
  const more: NonNullable<NotificationChanges['more']> = { ...n.changes.more };
  let shortened = false;
  for (const list of SHORTENED_LISTS) {
    const kept = keep(n.changes[list]);
    if (kept.length === n.changes[list].length) continue;
    const keptIds = new Set(kept.map((f) => f.fingerprint));
    const counts: ListCounts = { count: more[list]?.count ?? 0, bySeverity: { ...more[list]?.bySeverity } };
    for (const f of n.changes[list]) {
      if (keptIds.has(f.fingerprint)) continue;
      counts.count++;
      counts.bySeverity[f.severity] = (counts.bySeverity[f.severity] ?? 0) + 1;
    }
    changes[list] = n.changes[list].filter((f) => keptIds.has(f.fingerprint));
    more[list] = counts;
    shortened = true;
  }
  return shortened ? { ...n, changes: { ...changes, more } } : n;
}

/** Every finding record a notification carries, in the order new, regressed, open, resolved. */
export function allFindings(n: Notification) {
  return [...n.changes.new, ...n.changes.regressed, ...n.changes.open, ...n.changes.resolved];
}
