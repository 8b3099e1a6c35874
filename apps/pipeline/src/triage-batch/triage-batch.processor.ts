import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, QUEUE, Runtime, StatsRepository, triageJobSchema, type TriageJob } from '@klaxon/platform';
import { ComplianceRepository, CorrelateFindings, TriageBatch } from '@klaxon/triage';
import { correlateBatch } from '../correlate-findings/correlate-findings';
import { enqueueFeedback } from '../feedback-suggestions/feedback-suggestions.processor';

/** `triage`: persist by fingerprint, apply scopes, hand what changed to routing. */
@Injectable()
export class TriageBatchProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly correlate: CorrelateFindings,
    private readonly triage: TriageBatch,
    private readonly compliance: ComplianceRepository,
    private readonly stats: StatsRepository,
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
    const now = this.runtime.clock();
    const result = await this.triage.execute(batch, now, eventId);
    if (batch.controls?.length) await this.compliance.record(batch.controls, now);
    await this.runtime.events.markTriaged(eventId, result.counts);
    await this.stats.recordTriage(result.counts, now);
    await enqueueFeedback(this.runtime.queues, eventId, batch);
    if (result.changes.length) {
      await this.runtime.queues.add(QUEUE.route, JOB.route, { eventId, cause: 'batch', changes: result.changes }, { jobId: `route-${eventId}` });
    }
  }
}
