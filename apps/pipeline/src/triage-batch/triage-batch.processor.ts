import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, QUEUE, Runtime, triageJobSchema, type TriageJob } from '@klaxon/platform';
import { CorrelateFindings, TriageBatch } from '@klaxon/triage';
import { correlateBatch } from '../correlate-findings/correlate-findings';
import { enqueueFeedback } from '../feedback-suggestions/feedback-suggestions.processor';

/** `triage`: persist by fingerprint, apply scopes, hand what changed to routing. */
@Injectable()
export class TriageBatchProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly correlate: CorrelateFindings,
    private readonly triage: TriageBatch,
  ) {}

  onModuleInit(): void {
    this.runtime.queues.work({
      queue: QUEUE.triage,
      schema: triageJobSchema,
      handle: (job) => this.execute(job),
      options: { concurrency: 2 },
    });
  }

  async execute({ eventId, batch }: TriageJob): Promise<void> {
    batch = await correlateBatch(this.correlate, this.runtime, eventId, batch);
    const result = await this.triage.execute(batch, this.runtime.clock(), eventId);
    await this.runtime.events.markTriaged(eventId, result.counts);
    await enqueueFeedback(this.runtime.queues, eventId, batch);
    if (result.changes.length) {
      await this.runtime.queues.add(QUEUE.route, JOB.route, { eventId, cause: 'batch', changes: result.changes }, { jobId: `route-${eventId}` });
    }
  }
}
