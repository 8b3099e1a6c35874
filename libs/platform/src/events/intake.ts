import { JOB, QUEUE } from '../queues/queues';
import type { Runtime } from '../runtime';
import { newEventId, type ParseFailure } from './event.repository';

/** What the parsers are told about an input (libs/sources SourceMeta, kept structural: platform does not import sources). */
export interface IntakeMeta {
  eventId: string;
  receivedAt: string;
  integration: string;
  context: Record<string, unknown>;
  /** The cluster this deployment watches, as the ingest worker tells the parsers (so both parse alike). */
  cluster?: string;
}

/** A check's answer: the format, and what it parsed, for this process's ingest worker (ParsedInputs). */
export interface IntakeParsed {
  format: string;
  parsed: unknown;
  findings: number;
}

/**
 * Parses the raw input once to tell the sender now whether it is readable; returns the format.
 * Throws the sources' ParseError (`code: 'parse_error'`, `path`) or IgnoredInput (`code: 'ignored_input'`, `reason`);
 * any other error refuses the input before anything is stored (a caller's limit, a field it may not send).
 */
export type IntakeCheck = (raw: string, format: string | undefined, meta: IntakeMeta) => string | IntakeParsed | Promise<string | IntakeParsed>;

export interface IntakeInput {
  /** How it arrived: `report`, `webhook:falco`, `collector:kubernetes`. */
  integration: string;
  format?: string;
  context: Record<string, unknown>;
  raw: string;
  contentType?: string;
}

export type IntakeOutcome =
  | { status: 'accepted'; eventId: string; format: string }
  | { status: 'ignored'; eventId: string; format: string; reason: string }
  | { status: 'quarantined'; eventId: string; error: ParseFailure };

/** The first ingest of an event; replays add their own. */
function ingestJobId(eventId: string): string {
  return `ingest-${eventId}-0`;
}

function codeOf(err: unknown): string | undefined {
  return err && typeof err === 'object' ? (err as { code?: string }).code : undefined;
}

/**
 * Every input's way in, whoever received it (the gateway's uploads and webhooks, the collector's
 * watches): check that it parses, store the raw body, then quarantine it (replayable), mark it ignored,
 * or hand it to the `ingest` queue. An input the check refuses (over a limit, a field its caller may not
 * send) is answered and not stored. Nothing accepted is ever lost: the sender hears 202 only once both
 * the record and the job (a deterministic id) are written. A crash between the two leaves a record that
 * was never acknowledged; it expires with the events, and the sender's retry is taken in.
 */
export class InputIntake {
  constructor(
    private readonly runtime: Runtime,
    private readonly check: IntakeCheck,
  ) {}

  async accept(input: IntakeInput, eventId = newEventId()): Promise<IntakeOutcome> {
    const { events, queues, clock, metrics } = this.runtime;
    const receivedAt = clock();
    const meta: IntakeMeta = {
      eventId,
      receivedAt: receivedAt.toISOString(),
      integration: input.integration,
      context: input.context,
      cluster: this.runtime.config.sources.kubernetes?.clusterName,
    };
    const store = () =>
      events.store(
        {
          id: eventId,
          integration: input.integration,
          format: input.format,
          context: input.context,
          receivedAt: meta.receivedAt,
          contentType: input.contentType,
        },
        input.raw,
      );
    let format: string;
    let parsed: IntakeParsed | undefined;
    try {
      const checked = await this.check(input.raw, input.format, meta);
      if (typeof checked === 'string') format = checked;
      else ({ format } = parsed = checked);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ignored_input' || code === 'parse_error') await store();
      if (code === 'ignored_input') {
        const reason = (err as { reason: string }).reason;
        await events.markIgnored(eventId, reason);
        metrics.inputs.inc({ integration: input.integration, outcome: 'ignored' });
        return { status: 'ignored', eventId, format: input.format ?? 'unknown', reason };
      }
      if (code !== 'parse_error') throw err;
      const error = { message: (err as Error).message, path: (err as { path?: string }).path };
      await events.quarantine(eventId, error, receivedAt);
      metrics.inputs.inc({ integration: input.integration, outcome: 'quarantined' });
      return { status: 'quarantined', eventId, error };
    }
    await store();
    if (!input.format) await events.setFormat(eventId, format);
    // Before the job exists, so this process's worker finds it; the stored body stays the truth for a retry.
    if (parsed) this.runtime.parsedInputs.put(eventId, parsed.parsed, parsed.findings);
    await queues.add(QUEUE.ingest, JOB.ingest, { eventId }, { jobId: ingestJobId(eventId) });
    metrics.inputs.inc({ integration: input.integration, outcome: 'accepted' });
    return { status: 'accepted', eventId, format };
  }

  /**
   * Whether an event was taken in: queued for ingest, or already past it (or quarantined, ignored). A
   * process that died between recording an input and queueing it never answered 202: such an event is
   * not taken in, and the sender's retry is accepted under the same id (the ingest job id is derived
   * from it, so two concurrent retries still queue one job).
   */
  async wasTakenIn(eventId: string): Promise<boolean> {
    const event = await this.runtime.events.get(eventId);
    if (event && event.status !== 'received') return true;
    return (await this.runtime.queues.queue(QUEUE.ingest).getJob(ingestJobId(eventId))) !== undefined;
  }
}
