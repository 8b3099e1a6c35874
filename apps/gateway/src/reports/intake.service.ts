import { HttpStatus, Injectable } from '@nestjs/common';
import type { Batch } from '@klaxon/findings';
import { InputIntake, Runtime, newEventId, type ApiCredential } from '@klaxon/platform';
import { MAX_JSON_DEPTH, controlCharacterField, nestsDeeperThan, parseInput, type ReportContext, type SourceMeta } from '@klaxon/sources';
import { FindingRepository, findingOf } from '@klaxon/triage';
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
/** Open findings of one image repository looked at to tell whose it is. */
const OWNER_SAMPLE = 500;

@Injectable()
export class IntakeService {
  constructor(
    private readonly runtime: Runtime,
    private readonly findings: FindingRepository,
  ) {}

  private intakeFor(caller: ApiCredential | undefined): InputIntake {
    const { runtime } = this;
    return new InputIntake(runtime, async (raw, format, meta) => {
      const input = parseInput(raw, format, meta as SourceMeta);
      const { batch } = input;
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
      if (caller?.scope === 'ci') await this.assertOwnImages(batch, caller);
      return { format: input.format, parsed: input, findings: batch.findings.length };
    });
  }

  /**
   * A complete report resolves what its image repository no longer has: a ci token may complete only
   * images whose open findings were reported for its own repositories, so that it cannot post an empty
   * report that resolves another team's findings and closes their tickets. Findings no build context
   * ties to a repository (a registry's own scan) do not decide either way.
   */
  private async assertOwnImages(batch: Batch, caller: ApiCredential): Promise<void> {
    if (!batch.scopes.length) return;
    const images = new Set<string>();
    for (const f of batch.findings) if (f.artifact?.repository) images.add(f.artifact.repository);
    for (const a of batch.assets) if (a.type === 'image' && a.repository) images.add(a.repository);
    for (const image of images) {
      const { fingerprints } = await this.findings.query({ image: [image], state: ['open', 'suppressed'] }, 0, OWNER_SAMPLE);
      const foreign = (await this.findings.getMany(fingerprints)).map(findingOf).find((f) => f.code?.repo && !caller.repos.includes(f.code.repo));
      if (foreign) {
        throw new ApiError(HttpStatus.FORBIDDEN, {
          error: 'forbidden',
          message: `repo: this report completes image ${image}, which holds open findings of ${foreign.code!.repo}; the token "${caller.name}" may not resolve them`,
          field: 'repo',
        });
      }
    }
  }

  /** See InputIntake.wasTakenIn: a delivery id claimed by an input that was never queued does not make a retry a duplicate. */
  wasTakenIn(eventId: string): Promise<boolean> {
    return this.intakeFor(undefined).wasTakenIn(eventId);
  }

  async accept(intake: Intake, eventId = newEventId(), caller?: ApiCredential): Promise<IntakeResult> {
    if (nestsDeeperThan(intake.raw)) throw ApiError.badRequest('body', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    const outcome = await this.intakeFor(caller).accept(intake, eventId);
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
