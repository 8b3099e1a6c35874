import { createHash } from 'node:crypto';
import type { Finding } from '@klaxon/findings';
import type { RouteConfig } from '@klaxon/platform';
import type { Notification } from './notification';
import { groupLabels, matchRoutes, notificationKey } from './route-tree';

export interface RoutedChange {
  change: 'new' | 'regressed' | 'resolved';
  finding: Finding;
}

/**
 * Groups the changes of one input into one notification per (route, destination, group). The id is
 * derived from the cause, so a retried route job builds the same ids and delivery stays idempotent.
 */
export function buildNotifications(root: RouteConfig, changes: RoutedChange[], cause: string, now: Date): Notification[] {
  const byKey = new Map<string, Notification>();
  for (const { change, finding } of changes) {
    for (const route of matchRoutes(root, finding)) {
      const labels = groupLabels(route, finding);
      for (const destination of route.to) {
        const key = notificationKey(route.path, destination, labels);
        let n = byKey.get(key);
        if (!n) {
          n = {
            id: createHash('sha256').update(`${key}\u0000${cause}`).digest('hex').slice(0, 24),
            key,
            route: route.path,
            destination,
            groupLabels: labels,
            createdAt: now.toISOString(),
            eventId: cause,
            changes: { new: [], regressed: [], resolved: [], open: [] },
          };
          byKey.set(key, n);
        }
        n.changes[change].push(finding);
      }
    }
  }
  return [...byKey.values()];
}
