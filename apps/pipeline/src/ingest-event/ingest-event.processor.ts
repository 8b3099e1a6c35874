import { Injectable, type OnModuleInit } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { batchSchema } from '@klaxon/findings';
import { JOB, QUEUE, Runtime, collectQueue, ingestJobSchema, type IngestJob } from '@klaxon/platform';
import { IgnoredInput, ParseError, parseInput, type ReportContext } from '@klaxon/sources';
import { TriageBatchProcessor } from '../triage-batch/triage-batch.processor';

/**
 * `ingest`: raw input → Batch, then triage and routing of that Batch in the same job. A parse failure
 * quarantines the raw input; it is never dropped. The batch is not handed on as a job of its own (that
 * stored, copied and validated every finding twice more): each step is idempotent under the event id,
 * so a retried job parses the stored body again and redoes them (docs/durability.md).
 */
@Injectable()
export class IngestEventProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly triage: TriageBatchProcessor,
  ) {}

  onModuleInit(): void {
    this.runtime.queues.work({ queue: QUEUE.ingest, schema: ingestJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ eventId }: IngestJob): Promise<void> {
    const { events, queues } = this.runtime;
    const [event, raw] = await Promise.all([events.get(eventId), events.raw(eventId)]);
    if (!event || raw === null) throw new UnrecoverableError(`event ${eventId} is gone (expired or deleted)`);
    let parsed;
    try {
      parsed = parseInput(raw, event.format, {
        eventId,
        receivedAt: event.receivedAt,
        integration: event.integration,
        context: event.context as ReportContext,
        cluster: this.runtime.config.sources.kubernetes?.clusterName,
      });
    } catch (err) {
      if (err instanceof IgnoredInput) return events.markIgnored(eventId, err.reason);
      if (!(err instanceof ParseError)) throw err;
      await events.quarantine(eventId, { message: err.message, path: err.path }, this.runtime.clock());
      this.runtime.logger.warn({ eventId, err: err.message }, 'input quarantined');
      return;
    }
    const {
      format,
      batch: { followUps = [], ...batch },
    } = parsed;
    await events.markParsed(eventId, {
      format,
      findings: batch.findings.length,
      assets: batch.assets.length,
      scopes: batch.scopes.length,
    });
    // What the input asks to fetch next (Harbor's full report) goes to the collector, whichever source it is.
    await Promise.all(
      followUps.map((followUp, i) =>
        queues.add(collectQueue(followUp.kind), JOB.collect, { eventId, followUp }, { jobId: `collect-${eventId}-${i}-${event.replays}` }),
      ),
    );
    // Validated once, as the triage job's payload was: the same defaults, no stray fields.
    await this.triage.execute({ eventId, batch: batchSchema.parse(batch) });
  }
}
