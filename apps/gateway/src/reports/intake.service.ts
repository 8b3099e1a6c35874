import { HttpStatus, Injectable } from '@nestjs/common';
import { InputIntake, Runtime, newEventId, type IntakeCheck } from '@klaxon/platform';
import { MAX_JSON_DEPTH, controlCharacterField, nestsDeeperThan, parseInput, type ReportContext, type SourceMeta } from '@klaxon/sources';
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
 * The gateway's side of the shared intake (libs/platform InputIntake: check, store raw, quarantine or
 * enqueue): a broken document is answered now, as a 422 naming the field, and stays quarantined; one
 * that breaks a rule of the edge (hostile nesting, control characters in a name, too many findings) is
 * refused with a 4xx naming the field and not stored.
 */
@Injectable()
export class IntakeService {
  private readonly intake: InputIntake;

  constructor(runtime: Runtime) {
    const check: IntakeCheck = (raw, format, meta) => {
      const { batch, format: parsed } = parseInput(raw, format, meta as SourceMeta);
      const field = controlCharacterField(batch);
      if (field) throw ApiError.badRequest(field, 'control characters are not allowed in identifiers');
      const max = runtime.config.server.maxFindingsPerInput;
      if (batch.findings.length > max) {
        throw new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, {
          error: 'payload_too_large',
          message: `findings: ${batch.findings.length} findings in one input, over server.maxFindingsPerInput (${max}); split the report`,
          field: 'findings',
        });
      }
      return parsed;
    };
    this.intake = new InputIntake(runtime, check);
  }

  async accept(intake: Intake, eventId = newEventId()): Promise<IntakeResult> {
    if (nestsDeeperThan(intake.raw)) throw ApiError.badRequest('body', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
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
