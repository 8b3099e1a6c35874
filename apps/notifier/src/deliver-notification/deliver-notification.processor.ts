import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DESTINATION_TYPES, Runtime, deliverJobSchema, deliverQueue, type DeliverJob } from '@klaxon/platform';
import { LedgerRepository, createDestination, type Destination } from '@klaxon/destinations';

/**
 * `deliver.<type>`: one notification to one destination. The ledger makes it idempotent: a job retried
 * after a send that was recorded is a no-op, and a later send under the same key updates what the
 * first one created.
 */
@Injectable()
export class DeliverNotificationProcessor implements OnModuleInit {
  private readonly ledger: LedgerRepository;
  private readonly destinations = new Map<string, Destination>();

  constructor(private readonly runtime: Runtime) {
    this.ledger = new LedgerRepository(runtime.redis, runtime.prefix);
    for (const [name, config] of Object.entries(runtime.config.destinations)) {
      this.destinations.set(name, createDestination(config));
    }
  }

  onModuleInit(): void {
    const used = new Set(Object.values(this.runtime.config.destinations).map((d) => d.type));
    for (const type of DESTINATION_TYPES.filter((t) => used.has(t))) {
      this.runtime.queues.work({ queue: deliverQueue(type), schema: deliverJobSchema, handle: (job) => this.execute(job) });
    }
  }

  async execute({ notification }: DeliverJob): Promise<void> {
    const destination = this.destinations.get(notification.destination);
    if (!destination) throw new Error(`destination "${notification.destination}" is not configured`);
    const previous = await this.ledger.get(notification.destination, notification.key);
    if (previous?.lastNotificationId === notification.id) return;
    const entry = await destination.send(notification, previous);
    await this.ledger.put(notification.destination, notification.key, entry);
    if (notification.eventId) {
      await this.runtime.events.recordDelivery(notification.eventId, `${notification.destination}/${notification.key}`, {
        destination: notification.destination,
        ref: entry.ref,
        notificationId: notification.id,
        at: this.runtime.clock().toISOString(),
      });
    }
  }
}
