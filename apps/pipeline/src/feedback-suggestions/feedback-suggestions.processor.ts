import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Batch } from '@klaxon/findings';
import { ruleTable } from '@klaxon/feedback';
import { JOB, QUEUE, Runtime, feedbackJobSchema, type FeedbackJob, type QueueRegistry } from '@klaxon/platform';
import { SuggestionRepository } from '@klaxon/triage';
import { FeedbackSuggestions } from './feedback-suggestions.usecase';

/**
 * The triage hand-off: the runtime detections of a triaged batch (and deploy-time policy failures on a
 * workload, which the rule table also reads) go to `feedback`, one job per input.
 */
export async function enqueueFeedback(queues: QueueRegistry, eventId: string, batch: Batch): Promise<void> {
  const findings = batch.findings.filter((f) => f.kind === 'runtime' || (f.stage === 'deploy' && f.workload?.name));
  if (findings.length) await queues.add(QUEUE.feedback, JOB.feedback, { eventId, findings }, { jobId: `feedback-${eventId}` });
}

/**
 * `feedback`: runtime findings → hardening suggestions with accumulated evidence → routing, as
 * findings of kind `suggestion`. Each touched suggestion is routed as `new`: routing tells a group
 * only what it has not told yet and keeps the latest version of what it has, so the PR comment holds
 * the suggestion set with current evidence and is updated, not duplicated.
 */
@Injectable()
export class FeedbackSuggestionsProcessor implements OnModuleInit {
  private readonly feedback: FeedbackSuggestions;

  constructor(private readonly runtime: Runtime) {
    // Built at start-up: a broken override in feedback.rules stops the worker with the rule's path.
    this.feedback = new FeedbackSuggestions(new SuggestionRepository(runtime.redis, runtime.prefix), ruleTable(runtime.config.feedback), runtime.config.feedback);
  }

  onModuleInit(): void {
    this.runtime.queues.work({ queue: QUEUE.feedback, schema: feedbackJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ eventId, findings }: FeedbackJob): Promise<void> {
    const { suggestions } = await this.feedback.execute(eventId, findings);
    if (!suggestions.length) return;
    const changes = suggestions.map((finding) => ({ change: 'new' as const, finding }));
    await this.runtime.queues.add(QUEUE.route, JOB.route, { eventId, changes }, { jobId: `route-feedback-${eventId}` });
  }
}
