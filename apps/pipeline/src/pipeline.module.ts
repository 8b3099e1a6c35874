import { Module } from '@nestjs/common';
import { ruleTable } from '@klaxon/feedback';
import { CONFIG, type KlaxonConfig } from '@klaxon/platform';
import { RoutingModule } from '@klaxon/routing';
import { SuggestionRepository, TriageModule } from '@klaxon/triage';
import { FeedbackSuggestionsProcessor } from './feedback-suggestions/feedback-suggestions.processor';
import { FeedbackSuggestions } from './feedback-suggestions/feedback-suggestions.usecase';
import { FlushGroupProcessor } from './flush-group/flush-group.processor';
import { IngestEventProcessor } from './ingest-event/ingest-event.processor';
import { ReleaseExceptionProcessor } from './release-exception/release-exception.processor';
import { RetentionSweepProcessor } from './retention-sweep/retention-sweep.processor';
import { RouteFindingsProcessor } from './route-findings/route-findings.processor';
import { TriageBatchProcessor } from './triage-batch/triage-batch.processor';

const feedbackSuggestions = {
  provide: FeedbackSuggestions,
  // Built at start-up: a broken override in feedback.rules stops the worker with the rule's path.
  useFactory: (suggestions: SuggestionRepository, config: KlaxonConfig) => new FeedbackSuggestions(suggestions, ruleTable(config.feedback), config.feedback),
  inject: [SuggestionRepository, CONFIG],
};

/** Workers for ingest, triage, route, group timers and exception ends; any number of hosts may run them. */
@Module({
  imports: [TriageModule, RoutingModule],
  providers: [
    IngestEventProcessor,
    TriageBatchProcessor,
    RouteFindingsProcessor,
    FlushGroupProcessor,
    ReleaseExceptionProcessor,
    FeedbackSuggestionsProcessor,
    RetentionSweepProcessor,
    feedbackSuggestions,
  ],
})
export class PipelineModule {}
