import { matchesAll, type Finding, type Matcher } from '@klaxon/findings';
import { exceptionSchema, type ExceptionConfig } from '@klaxon/platform';

/** Where an exception was declared: `config/exceptions.yaml` (read-only here) or the admin API. */
export type ExceptionOrigin = 'config' | 'api';

/** An accepted risk: findings its matchers cover are stored and visible but not routed while it holds. */
export interface Exception extends ExceptionConfig {
  origin: ExceptionOrigin;
}

/** An exception as JSON: matchers as the text they were written in, dates as ISO strings. */
export interface ExceptionView {
  id: string;
  match: string[];
  reason: string;
  owner: string;
  created?: string;
  expires?: string;
  permanent: boolean;
  origin: ExceptionOrigin;
}

/** Holds at `now`: permanent, or not yet expired (an exception expires at its `expires` instant). */
export function isActive(exception: ExceptionConfig, now: Date): boolean {
  return exception.permanent || (exception.expires !== undefined && exception.expires.getTime() > now.getTime());
}

/**
 * The exception that covers a finding at `now`, or undefined. Every matcher must hold (same language
 * as routes); expired exceptions cover nothing. When several hold, the one declared first wins, so the
 * answer is stable: config file order, then API ones by id.
 */
export function coveringException<E extends ExceptionConfig>(exceptions: readonly E[], finding: Finding, now: Date): E | undefined {
  return exceptions.find((e) => isActive(e, now) && matchesAll(e.match, finding));
}

/** The matchers of `exception` that `finding` satisfies, as written: the "why" of a suppression. */
export function matchedBy(exception: ExceptionConfig, finding: Finding): string[] {
  return exception.match.filter((m: Matcher) => matchesAll([m], finding)).map((m) => m.text);
}

export function toView(exception: Exception): ExceptionView {
  return {
    id: exception.id,
    match: exception.match.map((m) => m.text),
    reason: exception.reason,
    owner: exception.owner,
    created: exception.created?.toISOString(),
    expires: exception.expires?.toISOString(),
    permanent: exception.permanent,
    origin: exception.origin,
  };
}

/** Reads a view back (from Redis): parsed with the same schema as the YAML file and the API. */
export function fromView(view: ExceptionView): Exception {
  const { origin, ...input } = view;
  return { ...exceptionSchema.parse(input), origin };
}
