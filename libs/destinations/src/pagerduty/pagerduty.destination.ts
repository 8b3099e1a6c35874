import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type * as PagerDutyJs from '@pagerduty/pdjs';
import type { Notification } from '@klaxon/routing';
import type { PagerDutyDestinationConfig } from './config';
import { DestinationUnavailable, type DeliveryLedger, type Destination } from '../destination';
import { bodyDetail, failureFromStatus, networkFailure, REQUEST_TIMEOUT_MS } from '../http-failure';
import { isAllResolved } from '../finding-facts';
import { dedupKeyOf, renderTrigger } from './render';
import { clientLibrary } from '../client-library';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the first PagerDuty destination (client-library.ts)
const pdjs = clientLibrary(() => require('@pagerduty/pdjs') as typeof PagerDutyJs);

/**
 * pdjs answers a 429 by waiting `retryTimeout` (20 s by default) and sending again, three times,
 * inside one call. Klaxon keeps that but short: one delivery attempt is at most four requests over
 * about three seconds, after which the 429 reaches the queue, which delays the destination's whole deliver.<name>
 * queue without spending an attempt. 5xx and network errors are not retried by pdjs: the queue's
 * exponential backoff covers them.
 */
const CLIENT_RETRY_WAIT_MS = 1_000;

type EventData = Parameters<typeof PagerDutyJs.event>[0]['data'];

/**
 * PagerDuty Events API v2: one alert per notification key (the dedup_key). While anything in the
 * group is open Klaxon sends `trigger` (PagerDuty folds repeats into the same alert), and `resolve`
 * with the same key once everything is resolved. A regression after a resolve triggers the same key
 * again, which opens a new incident: resolved incidents do not reopen. `acknowledge` is for people.
 * Retries cannot duplicate anything: the dedup_key makes every event idempotent at PagerDuty.
 */
export class PagerDutyDestination implements Destination {
  readonly type = 'pagerduty';
  readonly showsLatestState = true;
  /** pdjs always builds `https://{server}/v2/enqueue`, so only the host:port of eventsUrl is used. */
  private readonly server: string;
  private readonly agent: Agent;

  constructor(private readonly config: PagerDutyDestinationConfig) {
    const url = new URL(config.eventsUrl);
    if (url.pathname.replace(/\/+$/, '') !== '/v2/enqueue') {
      throw new Error(`pagerduty: eventsUrl must end in /v2/enqueue (the client builds that path), got ${url.pathname}`);
    }
    this.server = url.host;
    // A private CA adds to the public roots instead of replacing them.
    const ca = config.caFile ? [...rootCertificates, readFileSync(config.caFile, 'utf8')] : undefined;
    this.agent = new Agent({ keepAlive: true, ca });
  }

  async send(n: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    const dedupKey = previous?.ref ?? dedupKeyOf(n.key);
    const resolved = isAllResolved(n);
    // A resolve carries no payload: the alert is named by its dedup_key alone.
    const data = (
      resolved
        ? { routing_key: this.config.routingKey, event_action: 'resolve', dedup_key: dedupKey }
        : { routing_key: this.config.routingKey, event_action: 'trigger', dedup_key: dedupKey, ...renderTrigger(n) }
    ) as EventData;

    let response: Awaited<ReturnType<typeof PagerDutyJs.event>>;
    try {
      response = await pdjs().event({
        server: this.server,
        data,
        // Passed through to pdjs's fetch (node-fetch): TLS trust, keep-alive and a hard timeout.
        agent: this.agent,
        timeout: REQUEST_TIMEOUT_MS,
        // pdjs's own "requestTimeout" only starts a timer that never aborts anything: off.
        requestTimeout: 0,
        retryTimeout: CLIENT_RETRY_WAIT_MS,
      } as Parameters<typeof PagerDutyJs.event>[0]);
    } catch (err) {
      // A body that is not JSON (a proxy's HTML error page) fails in pdjs's response.json().
      throw err instanceof SyntaxError ? new DestinationUnavailable('pagerduty: answer is not JSON') : networkFailure('pagerduty', err);
    }
    const body = response.data as { status?: string; message?: string; errors?: string[]; dedup_key?: string } | undefined;
    if (response.status !== 202) {
      const detail = bodyDetail([body?.message, ...(body?.errors ?? [])].filter(Boolean).join(': ') || body);
      throw failureFromStatus('pagerduty', response.status, detail, response.headers.get('retry-after'));
    }
    return {
      ref: body?.dedup_key ?? dedupKey,
      lastNotificationId: n.id,
      status: resolved ? 'resolved' : 'open',
      sentAt: n.createdAt,
      extra: { action: data.event_action },
    };
  }
}
