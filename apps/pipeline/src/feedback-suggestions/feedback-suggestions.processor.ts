import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Finding } from '@klaxon/findings';
import { JOB, QUEUE, Runtime, feedbackJobSchema, type FeedbackJob, type QueueRegistry } from '@klaxon/platform';
import { FeedbackSuggestions } from './feedback-suggestions.usecase';

/**
 * The triage hand-off: the runtime detections of a triaged batch (and deploy-time policy failures on a
 * workload, which the rule table also reads) go to `feedback`, one job per input.
 */
export async function enqueueFeedback(queues: QueueRegistry, eventId: string, findings: Finding[]): Promise<void> {
  if (findings.length) await queues.add(QUEUE.feedback, JOB.feedback, { eventId, findings }, { jobId: `feedback-${eventId}` });
}

/**
 * `feedback`: runtime findings → hardening suggestions with accumulated evidence → routing, as
 * findings of kind `suggestion`. A suggestion seen for the first time is routed as `new`; one whose
 * evidence grew as `updated`, so its group sends again with the current evidence and the PR comment
 * is edited, not duplicated (routing tells a group only what changed and keeps the latest version).
 */
@Injectable()
export class FeedbackSuggestionsProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly feedback: FeedbackSuggestions,
  ) {}

  onModuleInit(): void {
    this.runtime.queues.work({ queue: QUEUE.feedback, schema: feedbackJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ eventId, findings, relink }: FeedbackJob): Promise<void> {
    const { changes } = relink ? await this.feedback.relink(eventId, findings) : await this.feedback.execute(eventId, findings);
    if (!changes.length) return;
    await this.runtime.queues.add(QUEUE.route, JOB.route, { eventId, cause: 'batch', changes }, { jobId: `route-feedback-${eventId}` });
  }
}
