import { z } from 'zod';
import { findingSchema, fingerprintOf, matchesAll, type Finding, type FindingDraft, type Matcher } from '@klaxon/findings';
import type { RouteConfig } from '@klaxon/platform';
import { groupLabels, matchRoutes } from './route-tree';

/**
 * A finding to test routes with: the model's fields, all optional (an absent field reads as "" to a
 * matcher, as in Alertmanager), those present validated as in the model.
 */
export const findingProbeSchema = findingSchema.partial();
export type FindingProbe = z.infer<typeof findingProbeSchema>;

/** What an exception needs to explain a suppression. */
export interface SuppressingException {
  id: string;
  match: Matcher[];
  reason: string;
  owner: string;
  expires?: Date;
  permanent: boolean;
}

export interface RouteTestResult {
  fingerprint?: string;
  /** Routes it reaches, with the matchers (inherited from parents included) that made each match. */
  routes: { path: string; matched: string[]; to: string[]; groupBy: string[]; groupLabels: Record<string, string> }[];
  /** Where it would be sent: none while an exception suppresses it. */
  destinations: string[];
  suppressed: boolean;
  exception?: { id: string; reason: string; owner: string; expires?: string; permanent: boolean; matched: string[] };
}

/** A probe as a Finding for matching: the fingerprint is computed when the probe has what it takes. */
export function probeFinding(probe: FindingProbe): Finding {
  const finding = { labels: {}, ...probe } as Finding;
  if (!finding.fingerprint && finding.kind && finding.rule?.id) {
    finding.fingerprint = fingerprintOf(finding as unknown as FindingDraft);
  }
  return finding;
}

/** "Where would this finding go, and why": routes, destinations, and the exception that suppresses it. Pure. */
export function testRoute(root: RouteConfig, finding: Finding, exception: SuppressingException | undefined): RouteTestResult {
  const routes = matchRoutes(root, finding).map((r) => ({
    path: r.path,
    matched: r.matched,
    to: r.to,
    groupBy: r.groupBy,
    groupLabels: groupLabels(r, finding),
  }));
  return {
    fingerprint: finding.fingerprint || undefined,
    routes,
    destinations: exception ? [] : [...new Set(routes.flatMap((r) => r.to))],
    suppressed: exception !== undefined,
    exception: exception && {
      id: exception.id,
      reason: exception.reason,
      owner: exception.owner,
      expires: exception.expires?.toISOString(),
      permanent: exception.permanent,
      matched: exception.match.filter((m) => matchesAll([m], finding)).map((m) => m.text),
    },
  };
}

/** The same answer as lines a person reads in a terminal. */
export function formatRouteTest(result: RouteTestResult): string[] {
  const lines = [`finding ${result.fingerprint ?? '(no fingerprint: kind or rule missing)'}`];
  if (!result.routes.length) lines.push('matches no route');
  for (const r of result.routes) {
    lines.push(`route ${r.path} → ${r.to.length ? r.to.join(', ') : '(no destinations)'}`);
    lines.push(`  matched: ${r.matched.length ? r.matched.join('; ') : '(no matchers: catch-all)'}`);
    if (r.groupBy.length)
      lines.push(
        `  group: ${Object.entries(r.groupLabels)
          .map(([k, v]) => `${k}=${v || '""'}`)
          .join(', ')}`,
      );
  }
  if (result.exception) {
    const e = result.exception;
    lines.push(`suppressed by exception ${e.id} (${e.permanent ? 'permanent' : `expires ${e.expires}`}), owner ${e.owner}: ${e.reason}`);
    lines.push(`  matched: ${e.matched.join('; ')}`);
    lines.push('would send to: nothing while suppressed');
  } else {
    lines.push(`would send to: ${result.destinations.length ? result.destinations.join(', ') : 'nothing'}`);
  }
  return lines;
}
