import { Module } from '@nestjs/common';
import { FeedbackSuggestionsProcessor } from './feedback-suggestions/feedback-suggestions.processor';
import { FlushGroupProcessor } from './flush-group/flush-group.processor';
import { IngestEventProcessor } from './ingest-event/ingest-event.processor';
import { ReleaseExceptionProcessor } from './release-exception/release-exception.processor';
import { RetentionSweepProcessor } from './retention-sweep/retention-sweep.processor';
import { RouteFindingsProcessor } from './route-findings/route-findings.processor';
import { TriageBatchProcessor } from './triage-batch/triage-batch.processor';

/** Workers for ingest, triage, route, group timers and exception ends; any number of hosts may run them. */
@Module({ providers: [IngestEventProcessor, TriageBatchProcessor, RouteFindingsProcessor, FlushGroupProcessor, ReleaseExceptionProcessor, FeedbackSuggestionsProcessor, RetentionSweepProcessor] })
export class PipelineModule {}
