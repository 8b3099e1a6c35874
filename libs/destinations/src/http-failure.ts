import { DestinationRejected, DestinationUnavailable, RateLimited } from './destination';

/** When a 429 names no delay (PagerDuty's never does), wait this long before the queue tries again. */
export const DEFAULT_RETRY_AFTER_MS = 30_000;

/** A hung connection must not hold a notifier worker: fail it and let the queue retry. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); `fallback` when
 * absent or unreadable.
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now(), fallback = DEFAULT_RETRY_AFTER_MS): number {
  if (!header) return fallback;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? fallback : Math.max(at - now, 0);
}

/**
 * The one place an HTTP status becomes a delivery decision: 429 waits, 5xx/408 and network failures
 * retry with backoff, any other 4xx (auth, not found, validation) cannot succeed by retrying.
 */
export function failureFromStatus(
  destination: string,
  status: number,
  detail: string,
  retryAfter?: string | null,
): RateLimited | DestinationUnavailable | DestinationRejected {
  const message = `${destination}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
  if (status === 429) return new RateLimited(retryAfterMs(retryAfter), message);
  if (status >= 500 || status === 408) return new DestinationUnavailable(message, status);
  return new DestinationRejected(message, status);
}

/** A failure before any status (refused, reset, timed out): transient by nature. */
export function networkFailure(destination: string, err: unknown): DestinationUnavailable {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const what = e.cause?.code ?? e.code ?? e.name ?? 'network error';
  return new DestinationUnavailable(`${destination}: ${what}${e.message ? ` (${e.message})` : ''}`);
}

/** Short, single-line detail of an error body for a dead letter: never the request, never headers. */
export function bodyDetail(body: unknown, max = 300): string {
  if (body === undefined || body === null || body === '') return '';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
