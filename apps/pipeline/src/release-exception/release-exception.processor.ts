import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, QUEUE, Runtime, releaseExceptionJobSchema, type ReleaseExceptionJob } from '@klaxon/platform';
import { ReleaseException, armExceptionEnd } from '@klaxon/triage';

/**
 * `exceptions`: an exception expired or was deleted; the findings it suppressed are routed as if new.
 * At start-up it arms the expiry of every exception of the config file (API ones are armed when created).
 */
@Injectable()
export class ReleaseExceptionProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly release: ReleaseException,
  ) {}

  async onModuleInit(): Promise<void> {
    const { queues, exceptions, clock } = this.runtime;
    queues.work({ queue: QUEUE.exceptions, schema: releaseExceptionJobSchema, handle: (job) => this.execute(job) });
    const now = clock();
    await Promise.all(exceptions.filter((e) => e.expires && !e.permanent).map((e) => armExceptionEnd(queues, e, 'expired', now)));
  }

  async execute({ exceptionId, reason, at }: ReleaseExceptionJob): Promise<void> {
    // A timer may fire a little early by this process's clock: judge coverage at the expiry itself.
    const now = new Date(Math.max(this.runtime.clock().getTime(), Date.parse(at)));
    const changes = await this.release.execute(exceptionId, reason, now, `${reason}@${at}`);
    if (changes.length) {
      await this.runtime.queues.add(
        QUEUE.route,
        JOB.route,
        { cause: 'exception-release', changes },
        { jobId: `route-release-${encodeURIComponent(exceptionId)}-${reason}-${Date.parse(at)}` },
      );
    }
  }
}
