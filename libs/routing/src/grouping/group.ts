import { createHash } from 'node:crypto';
import type { RouteConfig } from '@klaxon/platform';
import type { Notification } from '../notification';
import { groupLabels, matchRoutes, notificationKey, type MatchedRoute } from '../route-tree';
import type { FlushOutcome, GroupChanges, PendingChange } from './group.repository';

/** One aggregation group: a route and its values of the route's groupBy fields. */
export function groupIdOf(route: string, labels: Record<string, string>): string {
  return createHash('sha256').update(groupText(route, labels)).digest('hex').slice(0, 24);
}

/** What a group's id is the hash of: its route and its labels. */
function groupText(route: string, labels: Record<string, string>): string {
  const group = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${route}\u0000${group}`;
}

/**
 * Sorts the changes of one input into the groups of the routes each finding reaches (pure). Every
 * change goes where the finding goes now: a resolution follows the same routes its opening took.
 */
export function groupChanges(root: RouteConfig, changes: PendingChange[]): GroupChanges[] {
  // By what the id hashes, so that the hash is computed once per group, not once per change.
  const groups = new Map<string, GroupChanges>();
  for (const change of changes) {
    for (const route of matchRoutes(root, change.finding)) {
      if (!route.to.length) continue;
      const labels = groupLabels(route, change.finding);
      const text = groupText(route.path, labels);
      let group = groups.get(text);
      if (!group) {
        group = {
          groupId: groupIdOf(route.path, labels),
          route: route.path,
          labels,
          groupWait: route.groupWait,
          groupInterval: route.groupInterval,
          changes: [],
        };
        groups.set(text, group);
      }
      group.changes.push(change);
    }
  }
  return [...groups.values()];
}

/**
 * The notifications of one flush, one per destination of the route. The id is derived from the group,
 * its birth and its window, so a retried flush builds the same ids and delivery stays idempotent, and a
 * group created again after retention removed it never repeats an id its destinations have seen.
 */
export function notificationsOf(outcome: FlushOutcome, route: MatchedRoute, groupId: string, seq: number, now: Date): Notification[] {
  if (!outcome.notify) return [];
  const window = outcome.born === undefined ? `${seq}` : `${outcome.born}\u0000${seq}`;
  return route.to.map((destination) => ({
    id: createHash('sha256').update(`${groupId}\u0000${window}\u0000${destination}`).digest('hex').slice(0, 24),
    key: notificationKey(route.path, destination, outcome.labels),
    route: route.path,
    destination,
    groupLabels: outcome.labels,
    createdAt: now.toISOString(),
    eventId: outcome.events[0],
    seq,
    changes: outcome.changes,
  }));
}
