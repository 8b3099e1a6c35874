import type { KlaxonConfig } from '@klaxon/platform';

/** A webhook request as the gateway received it: lower-cased headers and the body as text. */
export interface WebhookRequest {
  headers: Record<string, string | undefined>;
  raw: string;
  /** The query string, for senders that can only put a token in the URL (Quay). */
  query?: Record<string, string | undefined>;
}

export type SourcesConfig = KlaxonConfig['sources'];

/**
 * A sender of webhooks (`POST /v1/webhooks/{name}`): how its requests are authenticated, which parser
 * reads them, and what identifies a redelivery. Pure: no I/O.
 */
export interface Integration {
  readonly name: string;
  /** Undefined when the request is authentic; otherwise why not (answered as 401). */
  authenticate(request: WebhookRequest, sources: SourcesConfig): string | undefined;
  /** The parser format for this request's body (it may depend on a header such as X-GitHub-Event). */
  format(request: WebhookRequest): string;
  /** Facts from the headers that the parser needs (event type, delivery id), stored with the event. */
  context?(request: WebhookRequest): Record<string, unknown>;
  /** Identifies a redelivery of the same event (X-GitHub-Delivery): a second one is acknowledged, not processed. */
  deliveryId?(request: WebhookRequest): string | undefined;
}
