import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, QUEUE, Runtime, deliverQueue, routeJobSchema, type DestinationType, type RouteJob } from '@klaxon/platform';
import { buildNotifications, type RoutedChange } from '@klaxon/routing';

/** `route`: findings that changed → one notification per (route, destination, group) → `deliver.<type>`. */
@Injectable()
export class RouteFindingsProcessor implements OnModuleInit {
  constructor(private readonly runtime: Runtime) {}

  onModuleInit(): void {
    this.runtime.queues.work({ queue: QUEUE.route, schema: routeJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ eventId, changes }: RouteJob): Promise<void> {
    const { config, queues, events } = this.runtime;
    const routable = changes.filter((c): c is RoutedChange => c.change === 'new' || c.change === 'regressed' || c.change === 'resolved');
    const notifications = buildNotifications(config.routes, routable, eventId ?? 'route', this.runtime.clock());
    await Promise.all(
      notifications.map((notification) => {
        const type = config.destinations[notification.destination].type as DestinationType;
        return queues.add(deliverQueue(type), JOB.deliver, { notification }, { jobId: `deliver-${notification.id}` });
      }),
    );
    if (eventId) {
      await events.markRouted(eventId, {
        notifications: notifications.length,
        destinations: [...new Set(notifications.map((n) => n.destination))],
      });
    }
  }
}
