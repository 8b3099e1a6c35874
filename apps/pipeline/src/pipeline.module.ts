import { Module } from '@nestjs/common';
import { IngestEventProcessor } from './ingest-event/ingest-event.processor';
import { RouteFindingsProcessor } from './route-findings/route-findings.processor';
import { TriageBatchProcessor } from './triage-batch/triage-batch.processor';

/** Workers for ingest, triage and route; any number of hosts may run them. */
@Module({ providers: [IngestEventProcessor, TriageBatchProcessor, RouteFindingsProcessor] })
export class PipelineModule {}
