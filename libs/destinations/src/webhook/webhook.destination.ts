import { createHmac } from 'node:crypto';
import type { Notification } from '@klaxon/routing';
import type { WebhookDestinationConfig } from './config';
import type { DeliveryLedger, Destination } from '../destination';
import { isAllResolved } from '../finding-facts';
import { bodyDetail, failureFromStatus, networkFailure, REQUEST_TIMEOUT_MS } from '../http-failure';

export const SIGNATURE_HEADER = 'x-klaxon-signature-256';
/** The notification id: a receiver that saw it already can drop a retried delivery. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** What a webhook receiver gets: the notification as it is, with its overall status. */
export interface WebhookPayload {
  type: 'klaxon.notification';
  version: 1;
  status: 'open' | 'resolved';
  notification: Notification;
}

/** `sha256=<hex>` HMAC of the exact body, as GitHub signs its webhooks: receivers can reuse their check. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * POSTs every notification as JSON to one URL. The receiver owns deduplication: every delivery carries
 * the notification id as `Idempotency-Key`, so a retried job (even after a crash before the ledger
 * write) is recognisable as the same delivery.
 */
export class WebhookDestination implements Destination {
  readonly type = 'webhook';
  readonly showsLatestState = false;

  constructor(private readonly config: WebhookDestinationConfig) {}

  async send(notification: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    const status = isAllResolved(notification) ? 'resolved' : 'open';
    const payload: WebhookPayload = { type: 'klaxon.notification', version: 1, status, notification };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      ...this.config.headers,
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'klaxon-webhook/1',
      [IDEMPOTENCY_HEADER]: notification.id,
      'x-klaxon-notification-key': encodeURIComponent(notification.key),
    };
    if (this.config.secret) headers[SIGNATURE_HEADER] = signBody(body, this.config.secret);

    let res: Response;
    try {
      res = await fetch(this.config.url, { method: 'POST', body, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: 'error' });
    } catch (err) {
      throw networkFailure('webhook', err);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw failureFromStatus('webhook', res.status, bodyDetail(text), res.headers.get('retry-after'));
    return {
      ref: previous?.ref ?? notification.key,
      lastNotificationId: notification.id,
      status,
      sentAt: notification.createdAt,
    };
  }
}
