import type { Batch } from '@klaxon/findings';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-depth';

/** Context a CI attaches to an upload (query string or `X-Klaxon-*` headers). */
export interface ReportContext {
  repo?: string;
  commit?: string;
  branch?: string;
  pr?: number;
  image?: string;
  digest?: string;
}

export interface SourceMeta {
  eventId: string;
  /** ISO time the raw input reached Klaxon: a parser's `now`. */
  receivedAt: string;
  /** How the input arrived: `report`, `webhook:harbor`, `collector:kubernetes`, … */
  integration: string;
  context: ReportContext;
  /** The configured cluster (`sources.kubernetes.clusterName`): where an input that names none comes from. */
  cluster?: string;
}

/** One input format. `parse` is pure: no I/O, no clock (use meta.receivedAt). */
export interface SourceParser {
  /** Format name as used in `?format=` and the registry. */
  readonly format: string;
  /** True when a parsed JSON document looks like this format (for format detection). */
  detect(document: unknown): boolean;
  parse(raw: string, meta: SourceMeta): Batch;
  /** Kubernetes resources, which people also post as `kubectl get … -o yaml` prints them. */
  readonly readsYaml?: boolean;
}

/** A raw input that cannot be turned into a Batch. `path` names the offending field. */
export class ParseError extends Error {
  readonly code = 'parse_error';
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ParseError';
  }
}

/** Refuses JSON text nested deeper than any format goes, before anything parses it. */
export function refuseDeepNesting(raw: string): void {
  if (nestsDeeperThan(raw)) throw new ParseError(`nested deeper than ${MAX_JSON_DEPTH} levels`);
}

/** JSON.parse with a ParseError that says where the document broke; hostile nesting is refused unparsed. */
export function parseJson(raw: string): unknown {
  refuseDeepNesting(raw);
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new ParseError(`not valid JSON (${(err as Error).message})`);
  }
}

/**
 * A well-formed input that carries nothing for Klaxon (a `ping`, an event type it does not read).
 * It is acknowledged (2xx) and counted, not quarantined.
 */
export class IgnoredInput extends Error {
  readonly code = 'ignored_input';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'IgnoredInput';
  }
}
