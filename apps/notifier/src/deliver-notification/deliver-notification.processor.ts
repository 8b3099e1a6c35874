import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, Runtime, StatsRepository, deliverQueue } from '@klaxon/platform';
import { deliverJobSchema, type DeliverJob } from '@klaxon/routing';
import {
  DESTINATIONS,
  LedgerRepository,
  alreadySent,
  deliveryLimits,
  supportedDestinationTypes,
  type DeliveryLedger,
  type Destination,
  type HeldDelivery,
} from '@klaxon/destinations';

/**
 * Longer than any one send can take (a per-finding Jira notification makes many requests, each with a
 * 10 s timeout), short enough that a crashed holder does not stall its key for long.
 */
const LOCK_TTL_MS = 5 * 60_000;

/** Another worker is sending under the same key right now: retried with backoff, after it is done. */
class DeliveryBusy extends Error {
  constructor(destination: string, key: string) {
    super(`${destination}: a delivery for ${key} is in progress`);
    this.name = 'DeliveryBusy';
  }
}

/** Delivered out of order: a later window of the same group already reached the destination. */
function isOlder(notification: DeliverJob['notification'], previous: DeliveryLedger | undefined): boolean {
  return notification.seq !== undefined && previous?.lastSeq !== undefined && notification.seq < previous.lastSeq;
}

/**
 * `deliver.<destination>`: one notification to one destination. The ledger makes it idempotent: a job retried
 * after a send that was recorded is a no-op, and a later send under the same key updates what the
 * first one created.
 */
@Injectable()
export class DeliverNotificationProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly ledger: LedgerRepository,
    private readonly stats: StatsRepository,
    @Inject(DESTINATIONS) private readonly destinations: ReadonlyMap<string, Destination>,
  ) {}

  /**
   * One worker per configured destination on its own queue, `deliver.<name>`, with the destination's
   * rate limit as BullMQ's limiter (shared by every notifier replica) and its type's concurrency.
   */
  onModuleInit(): void {
    const { config, queues } = this.runtime;
    for (const [name, destination] of Object.entries(config.destinations)) {
      const { rateLimit, concurrency } = deliveryLimits(destination);
      queues.work({
        queue: deliverQueue(name),
        schema: deliverJobSchema,
        handle: (job) => this.execute(job),
        options: { concurrency, limiter: rateLimit && { max: rateLimit.max, duration: rateLimit.per } },
      });
    }
    // Before queues were per destination they were per type (`deliver.slack`): jobs a previous version
    // queued there move to their destination's queue under the same job id, so an upgrade loses none.
    // (A destination named like a type already works that queue: execute() sends by the job's destination.)
    const used = new Set(Object.values(config.destinations).map((d) => d.type));
    for (const type of supportedDestinationTypes().filter((t) => used.has(t) && !Object.hasOwn(config.destinations, t))) {
      queues.work({
        queue: deliverQueue(type),
        schema: deliverJobSchema,
        handle: (job, { id }) =>
          Object.hasOwn(config.destinations, job.notification.destination)
            ? queues.add(deliverQueue(job.notification.destination), JOB.deliver, job, { jobId: id })
            : this.execute(job),
        options: { concurrency: 1 },
      });
    }
  }

  async execute({ notification }: DeliverJob): Promise<void> {
    const destination = this.destinations.get(notification.destination);
    if (!destination) throw new Error(`destination "${notification.destination}" is not configured`);
    const held = await this.ledger.hold(notification.destination, notification.key, LOCK_TTL_MS, notification.id);
    if (!held) throw new DeliveryBusy(notification.destination, notification.key);
    let result: { entry?: DeliveryLedger; skipped?: string } | undefined;
    try {
      result = await this.deliver(notification, destination, held);
    } catch (err) {
      await this.ledger.release(held);
      throw err;
    }
    // What the send leaves is one MULTI, one round trip: the ledger entry with the sent id, the count, the
    // lock's release and the event's record. The lock goes only with the ledger written, and a retried job
    // finds all of it or none.
    const { entry, skipped } = result ?? {};
    const write = this.runtime.redis.multi();
    if (entry) {
      this.ledger.putIn(write, notification.destination, notification.key, entry, this.runtime.config.retention.ledgers);
      this.stats.recordSentIn(write, notification.destination);
    }
    this.ledger.releaseIn(write, held);
    if (notification.eventId && (entry || skipped)) {
      this.runtime.events.recordDeliveryIn(write, notification.eventId, `${notification.destination}/${notification.key}`, {
        destination: notification.destination,
        ...(skipped ? { skipped } : { ref: entry!.ref }),
        notificationId: notification.id,
        at: this.runtime.clock().toISOString(),
      });
    }
    for (const [err] of (await write.exec())!) if (err) throw err;
  }

  /** Sends under the held lock; undefined when this notification (or a later one) was already sent. */
  private async deliver(
    notification: DeliverJob['notification'],
    destination: Destination,
    { sent, entry: previous }: HeldDelivery,
  ): Promise<{ entry?: DeliveryLedger; skipped?: string } | undefined> {
    if (sent || alreadySent(notification, previous)) return undefined;
    if (destination.showsLatestState && isOlder(notification, previous)) {
      return { skipped: `a later notification (window ${previous!.lastSeq}) was already sent` };
    }
    // A crash between this send and the ledger write sends again on retry: destinations that take an
    // idempotency key get one (webhook `Idempotency-Key` = notification id; PagerDuty's dedup key per group makes a repeated trigger the same alert).
    return { entry: { ...(await destination.send(notification, previous)), lastSeq: notification.seq ?? previous?.lastSeq } };
  }
}
