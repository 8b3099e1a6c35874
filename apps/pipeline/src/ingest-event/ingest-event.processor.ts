import { Injectable, type OnModuleInit } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { JOB, QUEUE, Runtime, collectQueue, ingestJobSchema, type EventView, type IngestJob } from '@klaxon/platform';
import { IgnoredInput, ParseError, parseInput, type ReportContext } from '@klaxon/sources';
import { TriageBatchProcessor } from '../triage-batch/triage-batch.processor';

type ParsedInput = ReturnType<typeof parseInput>;

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
    // Intake in this process now keeps what it parsed for this worker (ParsedInputs).
    this.runtime.parsedInputs.enable();
    this.runtime.queues.work({ queue: QUEUE.ingest, schema: ingestJobSchema, handle: (job) => this.execute(job) });
  }

  async execute({ eventId }: IngestJob): Promise<void> {
    const { events, queues } = this.runtime;
    // Parsed by this process's intake a moment ago: the stored body would give the same (same parsers, same meta).
    const handed = this.runtime.parsedInputs.take(eventId) as ParsedInput | undefined;
    const event = await events.get(eventId);
    if (!event) throw new UnrecoverableError(`event ${eventId} is gone (expired or deleted)`);
    const parsed = handed ?? (await this.parseStored(event));
    if (!parsed) return;
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
    // Taken as the parser built it: every parser's batch is already what batchSchema makes of it (no stray
    // field, no default left to fill), which libs/sources/src/parsers.fuzz.spec.ts holds for every input.
    // Validating it again allocated about a fifth of this process's garbage on Alertmanager's workload.
    await this.triage.execute({ eventId, batch });
  }

  /** The stored body parsed (a retry, a replay, or an input another process took in); undefined when it was quarantined or ignored. */
  private async parseStored(event: EventView): Promise<ParsedInput | undefined> {
    const { events } = this.runtime;
    const raw = await events.raw(event.id);
    if (raw === null) throw new UnrecoverableError(`event ${event.id} is gone (expired or deleted)`);
    try {
      return parseInput(raw, event.format, {
        eventId: event.id,
        receivedAt: event.receivedAt,
        integration: event.integration,
        context: event.context as ReportContext,
        cluster: this.runtime.config.sources.kubernetes?.clusterName,
      });
    } catch (err) {
      if (err instanceof IgnoredInput) return void (await events.markIgnored(event.id, err.reason));
      if (!(err instanceof ParseError)) throw err;
      await events.quarantine(event.id, { message: err.message, path: err.path }, this.runtime.clock());
      this.runtime.logger.warn({ eventId: event.id, err: err.message }, 'input quarantined');
      return undefined;
    }
  }
}
