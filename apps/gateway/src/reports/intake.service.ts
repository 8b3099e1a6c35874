import { HttpStatus, Injectable } from '@nestjs/common';
import { InputIntake, newEventId } from '@klaxon/platform';
import type { ReportContext } from '@klaxon/sources';
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
 * The gateway's side of the shared intake (libs/platform InputIntake: store raw, check, quarantine or
 * enqueue): a broken document is answered now, as a 422 naming the field, and stays quarantined.
 */
@Injectable()
export class IntakeService {
  constructor(private readonly intake: InputIntake) {}

  async accept(intake: Intake, eventId = newEventId()): Promise<IntakeResult> {
    const outcome = await this.intake.accept(intake, eventId);
    switch (outcome.status) {
      case 'accepted':
        return { eventId, format: outcome.format };
      case 'ignored':
        return { eventId, format: outcome.format, ignored: outcome.reason };
      case 'quarantined':
        throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
          error: 'parse_error',
          message: outcome.error.message,
          field: outcome.error.path,
          eventId,
          quarantined: true,
        });
    }
  }
}
