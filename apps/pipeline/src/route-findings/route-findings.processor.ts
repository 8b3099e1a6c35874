import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QUEUE, Runtime, routeJobSchema, type RouteJob } from '@klaxon/platform';
import { GroupRepository, groupChanges, type PendingChange } from '@klaxon/routing';
import { armGroupTimers } from '../flush-group/group-timer';

/**
 * `route`: findings that changed → the groups of the routes they reach. Nothing is sent here: each
 * group's timer (groupWait, then groupInterval) flushes it as one notification per destination.
 */
@Injectable()
export class RouteFindingsProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly groups: GroupRepository,
  ) {}

  onModuleInit(): void {
    this.runtime.queues.work({ queue: QUEUE.route, schema: routeJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ eventId, cause, changes }: RouteJob): Promise<void> {
    const now = this.runtime.clock();
    const routable: PendingChange[] = changes.flatMap((c) => (c.change === 'unchanged' ? [] : [{ change: c.change, finding: c.finding, eventId, cause }]));
    const timers = await this.groups.add(groupChanges(this.runtime.config.routes, routable), now);
    await armGroupTimers(this.runtime.queues, timers, now);
  }
}
