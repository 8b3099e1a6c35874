import { createHash } from 'node:crypto';
import { fieldValue, matchesAll, type Finding } from '@klaxon/findings';
import type { RouteConfig } from '@klaxon/platform';

/** A route as it applies to a finding: inherited settings resolved. */
export interface MatchedRoute {
  /** `root`, `root/runtime-incidents`, `root/1` when unnamed. */
  path: string;
  to: string[];
  groupBy: string[];
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  /** The matchers that made it match, for explanations. */
  matched: string[];
}

/** Alertmanager's defaults. */
export const ROUTE_DEFAULTS = { groupWait: 30_000, groupInterval: 300_000, repeatInterval: 14_400_000 };

function resolve(route: RouteConfig, parent: MatchedRoute | undefined, path: string): MatchedRoute {
  return {
    path,
    to: route.to ?? parent?.to ?? [],
    groupBy: route.groupBy ?? parent?.groupBy ?? [],
    groupWait: route.groupWait ?? parent?.groupWait ?? ROUTE_DEFAULTS.groupWait,
    groupInterval: route.groupInterval ?? parent?.groupInterval ?? ROUTE_DEFAULTS.groupInterval,
    repeatInterval: route.repeatInterval ?? parent?.repeatInterval ?? ROUTE_DEFAULTS.repeatInterval,
    matched: [...(parent?.matched ?? []), ...route.match.map((m) => m.text)],
  };
}

/**
 * The routes a finding reaches, as Alertmanager walks its tree: depth first, a matching child takes the
 * finding unless it says `continue`; a route none of whose children match takes it itself.
 */
export function matchRoutes(root: RouteConfig, finding: Finding): MatchedRoute[] {
  const walk = (route: RouteConfig, parent: MatchedRoute | undefined, path: string): MatchedRoute[] => {
    if (!matchesAll(route.match, finding)) return [];
    const self = resolve(route, parent, path);
    const found: MatchedRoute[] = [];
    for (const [i, child] of route.routes.entries()) {
      const hits = walk(child, self, `${path}/${child.name ?? i}`);
      found.push(...hits);
      if (hits.length && !child.continue) break;
    }
    return found.length ? found : [self];
  };
  return walk(root, undefined, 'root');
}

/** The group a finding falls in on a route: its values of the route's groupBy fields. */
export function groupLabels(route: MatchedRoute, finding: Finding): Record<string, string> {
  return Object.fromEntries(route.groupBy.map((field) => [field, groupValue(finding, field)]));
}

/** `workload` as a groupBy field means the whole workload identity, not one of its parts. */
function groupValue(finding: Finding, field: string): string {
  if (field === 'workload') {
    const w = finding.workload;
    return w ? [w.cluster, w.namespace, w.kind, w.name].filter(Boolean).join('/') : '';
  }
  const value = fieldValue(finding, field);
  return value === undefined || value === null ? '' : String(value);
}

/** A stable, readable key for (route, destination, group). */
export function notificationKey(route: string, destination: string, labels: Record<string, string>): string {
  const group = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const digest = createHash('sha256').update(`${route}\u0000${destination}\u0000${group}`).digest('hex').slice(0, 16);
  return `${destination}:${digest}`;
}

/**
 * The route at `path` (as matchRoutes names it) with inherited settings resolved, or undefined when the
 * tree no longer has it (the config changed since a group timer was armed).
 */
export function routeByPath(root: RouteConfig, path: string): MatchedRoute | undefined {
  const [first, ...rest] = path.split('/');
  if (first !== 'root') return undefined;
  let route = root;
  let resolved = resolve(root, undefined, 'root');
  for (const segment of rest) {
    const child = route.routes.find((c, i) => (c.name ?? String(i)) === segment);
    if (!child) return undefined;
    route = child;
    resolved = resolve(child, resolved, `${resolved.path}/${segment}`);
  }
  return resolved;
}
