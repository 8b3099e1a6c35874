import type { Finding } from '@klaxon/findings';
import type { ZodType, ZodTypeDef } from 'zod';
import type { DestinationTypeSpec, RateLimit } from '@klaxon/platform';
import type { Notification } from '@klaxon/routing';

/** What a destination remembers of what it created for one notification key. */
export interface DeliveryLedger {
  /** External reference: Slack `channel:ts`, Jira key, PagerDuty dedup key, GitHub comment id. */
  ref: string;
  /** The last notification id sent under this key: a retried job with the same id is a no-op. */
  lastNotificationId: string;
  /** open while anything in the group is open, resolved once everything is. */
  status: 'open' | 'resolved';
  sentAt: string;
  /** Destination-specific extras (Slack channel id, thread ts, …). */
  extra?: Record<string, string>;
  /** The group window of the last notification sent under this key. */
  lastSeq?: number;
}

/**
 * A retried job whose send was already recorded: the one place that says so. The notifier checks it
 * under the ledger lock before calling a destination, so `send` never sees a notification twice.
 */
export function alreadySent(notification: Pick<Notification, 'id'>, previous: DeliveryLedger | undefined): boolean {
  return previous?.lastNotificationId === notification.id;
}

export interface Destination {
  readonly type: string;
  /**
   * True when each notification makes the external object show the group's whole current state (a
   * Slack root message, a PagerDuty alert's trigger/resolve, a GitHub sticky comment): one older than
   * the last sent would put old state back, so it is skipped. False when each carries its own changes
   * (Jira tickets per finding, webhook receivers): those are sent whatever their order.
   */
  readonly showsLatestState: boolean;
  /**
   * Sends a notification. `previous` is the ledger entry of earlier sends under the same key, so the
   * destination updates what it created instead of creating it again; it is never one already sent
   * (see alreadySent). Returns the new ledger entry.
   * Throws DestinationRejected, RateLimited or DestinationUnavailable.
   */
  send(notification: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger>;
}

/**
 * How a destination's `deliver.<name>` queue is worked unless its config says otherwise: BullMQ's
 * limiter (shared by every notifier replica, since it lives in Redis; none: concurrency only) and the
 * worker concurrency. SaaS types default to the service's published limits, kept below them so that
 * 429s are the exception.
 */
export interface DeliveryLimits {
  rateLimit?: RateLimit;
  concurrency: number;
}

/**
 * Everything Klaxon knows of one destination type, in its folder: the schema of its config (with its
 * `type` literal; `rateLimit` is every destination's and is checked by the config parser), its default
 * limits, and how to build its sender from a parsed config. `registry.ts` lists them.
 */
export interface DestinationDescriptor<C extends { type: string } = { type: string }> extends DestinationTypeSpec {
  readonly type: C['type'];
  readonly configSchema: ZodType<C, ZodTypeDef, unknown>;
  readonly defaultLimits: DeliveryLimits;
  /**
   * True when each message lists every finding still open in the group (a GitHub pull request comment,
   * edited in place): the routes it is on keep every told finding's record, and each notification carries
   * them all in `changes.open`. Otherwise notifications carry records only of what changed.
   */
  readonly listsEveryOpenFinding?: boolean;
  /**
   * The records of one change list (new, regressed, resolved) its message can show, when it shows only
   * some: the rest is left out of its notifications and counted (`changes.more`), so a report of 5,000
   * findings is not carried whole to a message that lists 20. Absent: every record is carried.
   */
  readonly shows?: (findings: Finding[]) => Finding[];
  create(config: C): Destination;
}

/** Types a descriptor by its config schema. */
export function defineDestination<C extends { type: string }>(descriptor: DestinationDescriptor<C>): DestinationDescriptor<C> {
  return descriptor;
}

/** The destination refused the request and retrying cannot help (auth, not found, validation). */
export class DestinationRejected extends Error {
  readonly code = 'destination_rejected';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DestinationRejected';
  }
}

/** The destination asked us to slow down: retry after `retryAfterMs` without counting an attempt. */
export class RateLimited extends Error {
  readonly code = 'rate_limited';
  constructor(
    readonly retryAfterMs: number,
    message = `rate limited, retry after ${retryAfterMs} ms`,
  ) {
    super(message);
    this.name = 'RateLimited';
  }
}

/** A transient failure (5xx, timeout, connection refused): retried with backoff. */
export class DestinationUnavailable extends Error {
  readonly code = 'destination_unavailable';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DestinationUnavailable';
  }
}
