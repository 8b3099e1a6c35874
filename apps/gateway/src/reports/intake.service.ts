import { HttpStatus, Injectable } from '@nestjs/common';
import { JOB, QUEUE, Runtime, newEventId } from '@klaxon/platform';
import { IgnoredInput, ParseError, parseInput, type ReportContext } from '@klaxon/sources';
import { ApiError } from '../http/api-error';

export interface IntakeResult {
  eventId: string;
  format: string;
  /** Set when the input was well-formed but carried nothing to process. */
  ignored?: string;
}

export interface Intake {
  integration: string;
  format?: string;
  context: ReportContext & Record<string, unknown>;
  raw: string;
  contentType?: string;
}

/**
 * Every input's way in: store the raw body first, check that it parses (so the sender hears about a
 * broken document now, as a 422 naming the field), then hand it to the `ingest` queue. A document
 * that does not parse is quarantined for replay after a fix, never dropped.
 */
@Injectable()
export class IntakeService {
  constructor(private readonly runtime: Runtime) {}

  async accept(intake: Intake, eventId = newEventId()): Promise<IntakeResult> {
    const { events, queues, clock } = this.runtime;
    const receivedAt = clock();
    await events.store(
      { id: eventId, integration: intake.integration, format: intake.format, context: intake.context, receivedAt: receivedAt.toISOString(), contentType: intake.contentType },
      intake.raw,
    );
    let format: string;
    try {
      format = parseInput(intake.raw, intake.format, {
        eventId,
        receivedAt: receivedAt.toISOString(),
        integration: intake.integration,
        context: intake.context,
      }).format;
    } catch (err) {
      if (err instanceof IgnoredInput) {
        await events.markIgnored(eventId, err.reason);
        this.runtime.metrics.inputs.inc({ integration: intake.integration, outcome: 'ignored' });
        return { eventId, format: intake.format ?? 'unknown', ignored: err.reason };
      }
      if (!(err instanceof ParseError)) throw err;
      await events.quarantine(eventId, { message: err.message, path: err.path }, receivedAt);
      this.runtime.metrics.inputs.inc({ integration: intake.integration, outcome: 'quarantined' });
      throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
        error: 'parse_error',
        message: err.message,
        field: err.path,
        eventId,
        quarantined: true,
      });
    }
    if (!intake.format) await events.setFormat(eventId, format);
    await queues.add(QUEUE.ingest, JOB.ingest, { eventId }, { jobId: `ingest-${eventId}-0` });
    this.runtime.metrics.inputs.inc({ integration: intake.integration, outcome: 'accepted' });
    return { eventId, format };
  }
}
