import { JOB, QUEUE, type QueueRegistry } from '@klaxon/platform';
import type { GroupTimer } from '@klaxon/routing';

/**
 * A group's timer as a delayed BullMQ job. The job id names the group and its window, so arming the
 * same window twice (a retried route job, two replicas) adds one job, and a restart finds it in Redis.
 */
export async function armGroupTimer(queues: QueueRegistry, timer: GroupTimer, now: Date): Promise<void> {
  await armGroupTimers(queues, [timer], now);
}

/** The timers of many groups (a route batch touches thousands) in one round trip. */
export async function armGroupTimers(queues: QueueRegistry, timers: GroupTimer[], now: Date): Promise<void> {
  await queues.addBulk(
    QUEUE.group,
    timers.map((timer) => ({
      name: JOB.flushGroup,
      data: { groupId: timer.groupId, route: timer.route, seq: timer.seq },
      opts: { jobId: `flush-${timer.groupId}-${timer.seq}`, delay: Math.max(0, timer.flushAt - now.getTime()) },
    })),
  );
}
