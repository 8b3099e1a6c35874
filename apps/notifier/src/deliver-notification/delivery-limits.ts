import type { DestinationType } from '@klaxon/platform';

/**
 * Per destination type: BullMQ's limiter on the `deliver.<type>` queue (shared by every notifier
 * replica, since it lives in Redis) and the worker concurrency. The numbers are the services' own
 * published limits, kept below them so that 429s are the exception.
 */
export interface DeliveryLimit {
  /** BullMQ's limiter: at most `max` jobs per `duration` ms; absent, the queue is bounded by concurrency only. */
  limiter?: { max: number; duration: number };
  concurrency: number;
}

export const DELIVERY_LIMITS: Record<DestinationType, DeliveryLimit> = {
  // chat.postMessage: about one message per second per channel, short bursts tolerated.
  slack: { limiter: { max: 5, duration: 5_000 }, concurrency: 2 },
  // Jira Cloud meters by cost per user; ten requests a second keeps a per-finding burst well inside it.
  jira: { limiter: { max: 10, duration: 1_000 }, concurrency: 2 },
  // Events API v2: 120 events per minute per routing key.
  pagerduty: { limiter: { max: 120, duration: 60_000 }, concurrency: 4 },
  // Content-creating requests: 80 per minute; Octokit's throttling plugin also spaces writes by 1 s.
  github: { limiter: { max: 80, duration: 60_000 }, concurrency: 1 },
  // A receiver of Klaxon's own: no rate limit, only the sends in flight are bounded; it answers 429
  // (with Retry-After) when it needs less, and the whole queue waits that long.
  webhook: { concurrency: 4 },
};
