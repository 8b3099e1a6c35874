import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QUEUE, Runtime, StatsRepository, triageJobSchema, type TriageJob } from '@klaxon/platform';
import { ComplianceRepository, CorrelateFindings, TriageBatch } from '@klaxon/triage';
import { correlateBatch } from '../correlate-findings/correlate-findings';
import { enqueueFeedback } from '../feedback-suggestions/feedback-suggestions.processor';
import { FeedbackSuggestions } from '../feedback-suggestions/feedback-suggestions.usecase';
import { RouteFindingsProcessor } from '../route-findings/route-findings.processor';

/**
 * Triage: persist by fingerprint, apply scopes, route what changed, in the ingest job that parsed the
 * batch. The `triage` queue is still worked for jobs queued by earlier versions.
 */
@Injectable()
export class TriageBatchProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly correlate: CorrelateFindings,
    private readonly triage: TriageBatch,
    private readonly compliance: ComplianceRepository,
    private readonly stats: StatsRepository,
    private readonly route: RouteFindingsProcessor,
    private readonly feedback: FeedbackSuggestions,
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
    // Only findings that trigger a suggestion rule: the feedback job of any other would do nothing.
    await enqueueFeedback(this.runtime.queues, eventId, this.feedback.triggering(batch.findings));
    // Routed here rather than by a job of its own: a retry triages to the same changes (the stores answer
    // what the first attempt did) and adds the same pending entries to the same windows.
    if (result.changes.length) await this.route.execute({ eventId, cause: 'batch', changes: result.changes });
  }
}
