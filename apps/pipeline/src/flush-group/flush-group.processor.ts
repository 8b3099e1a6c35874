import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, Runtime, QUEUE, deliverQueue, flushGroupJobSchema, type FlushGroupJob } from '@klaxon/platform';
import { listsEveryOpenFinding, notificationFor } from '@klaxon/destinations';
import { GroupRepository, notificationsOf, routeByPath } from '@klaxon/routing';
import { armGroupTimer } from './group-timer';

/**
 * `group`: a group's window ended. What changed since its last notification goes to every destination
 * of the route as one notification each; while anything stays open, the repeat timer is armed.
 */
@Injectable()
export class FlushGroupProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly groups: GroupRepository,
  ) {}

  onModuleInit(): void {
    this.runtime.queues.work({ queue: QUEUE.group, schema: flushGroupJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ groupId, route: path, seq }: FlushGroupJob): Promise<void> {
    const { config, queues, events, logger } = this.runtime;
    const route = routeByPath(config.routes, path);
    if (!route) return logger.warn({ route: path, groupId }, 'group of a route the config no longer has: dropped');
    const now = this.runtime.clock();
    // A route keeps every told finding's record only when one of its destinations lists them all.
    const records = route.to.some((name) => config.destinations[name] !== undefined && listsEveryOpenFinding(config.destinations[name]));
    const outcome = await this.groups.flush(groupId, seq, now, route.repeatInterval, config.retention.failedJobs, records);
    if (!outcome) return;
    // Each destination is sent the records its message can show; the rest travel as counts.
    const notifications = notificationsOf(outcome, route, groupId, seq, now).map((n) =>
      config.destinations[n.destination] ? notificationFor(config.destinations[n.destination], n) : n,
    );
    await Promise.all(
      notifications.map((notification) =>
        queues.add(deliverQueue(notification.destination), JOB.deliver, { notification }, { jobId: `deliver-${notification.id}` }),
      ),
    );
    if (outcome.next) await armGroupTimer(queues, { groupId, route: path, ...outcome.next }, now);
    // Then, in one pipeline: what each input reached (an input's own findings and the stored findings it
    // rescored are told apart, so the flush of one does not overwrite what the other reached), and the
    // kept outcome dropped, last, since everything it decided is queued now.
    const routed = { notifications: notifications.length, destinations: route.to };
    const own = new Set(outcome.routedBy.filter((r) => r.cause !== 'rescore').map((r) => r.event));
    const write = this.runtime.redis.pipeline();
    for (const eventId of own) events.markRoutedIn(write, eventId, routed);
    for (const r of outcome.routedBy.filter((r) => r.cause === 'rescore')) {
      events.markRescoredIn(write, r.event, `${groupId}:${seq}`, { findings: r.findings, ...routed });
    }
    this.groups.forgetIn(write, groupId, seq);
    for (const [err] of (await write.exec())!) if (err) throw err;
  }
}
