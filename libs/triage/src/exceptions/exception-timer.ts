import { JOB, QUEUE, type QueueRegistry } from '@klaxon/platform';
import type { Exception } from './exception';

/**
 * Arms the BullMQ job that releases an exception's findings when it ends: at its expiry, or now when
 * it is deleted. The job id is derived from the exception and the instant, so every process that arms
 * the same expiry (each pipeline replica at start-up) adds one job, not one each.
 */
export async function armExceptionEnd(
  queues: QueueRegistry,
  exception: Pick<Exception, 'id' | 'expires'>,
  reason: 'expired' | 'deleted',
  now: Date,
): Promise<void> {
  const at = reason === 'expired' && exception.expires ? exception.expires : now;
  await queues.add(
    QUEUE.exceptions,
    JOB.releaseException,
    { exceptionId: exception.id, reason, at: at.toISOString() },
    { jobId: `release-${encodeURIComponent(exception.id)}-${reason}-${at.getTime()}`, delay: Math.max(0, at.getTime() - now.getTime()) },
  );
}
