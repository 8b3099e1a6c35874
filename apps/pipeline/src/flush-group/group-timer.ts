import { JOB, QUEUE, type QueueRegistry } from '@klaxon/platform';
import type { GroupTimer } from '@klaxon/routing';

/**
 * A group's timer as a delayed BullMQ job. The job id names the group and its window, so arming the
 * same window twice (a retried route job, two replicas) adds one job, and a restart finds it in Redis.
 */
export async function armGroupTimer(queues: QueueRegistry, timer: GroupTimer, now: Date): Promise<void> {
  await queues.add(
    QUEUE.group,
    JOB.flushGroup,
    { groupId: timer.groupId, route: timer.route, seq: timer.seq },
    { jobId: `flush-${timer.groupId}-${timer.seq}`, delay: Math.max(0, timer.flushAt - now.getTime()) },
  );
}
