import type * as SlackWebApi from '@slack/web-api';
import type { WebAPICallError, WebClient } from '@slack/web-api';
import type { Notification } from '@klaxon/routing';
import type { SlackDestinationConfig } from './config';
import { DestinationRejected, DestinationUnavailable, RateLimited, type DeliveryLedger, type Destination } from '../destination';
import { isAllResolved } from '../finding-facts';
import { renderSlack, type SlackRenderOptions, type SlackRendering } from './render';
import { clientLibrary } from '../client-library';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the first Slack destination (client-library.ts)
const slackApi = clientLibrary(() => require('@slack/web-api') as typeof SlackWebApi);

/**
 * Slack answers these with HTTP 200 `{ok:false}` and retrying cannot help: the token, the channel or
 * the message itself is wrong (https://api.slack.com/methods/chat.postMessage#errors).
 */
const REJECTING_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'access_denied',
  'team_access_not_granted',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'msg_blocks_too_long',
  'no_text',
  'invalid_arguments',
  'message_not_found',
  'cant_update_message',
]);

/** A hung connection must not hold a notifier worker: fail it and let the queue retry. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Posts one message per notification key, then threads every later change under it and, once the
 * whole group is resolved, edits the root message to say so.
 */
export class SlackDestination implements Destination {
  readonly type = 'slack';
  readonly showsLatestState = true;
  private readonly client: WebClient;

  constructor(
    private readonly config: SlackDestinationConfig,
    client?: WebClient,
    private readonly renderOptions: SlackRenderOptions = {},
  ) {
    this.client =
      client ??
      new (slackApi().WebClient)(config.token, {
        slackApiUrl: config.apiUrl,
        // Klaxon's queue owns retries and rate-limit delays: the client must surface both, not wait.
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: REQUEST_TIMEOUT_MS,
        // The notifier logs a failed delivery once, from the typed error; the client would log it again.
        logLevel: slackApi().LogLevel.ERROR,
        // The original axios error carries the request config, Authorization header included.
        attachOriginalToWebAPIRequestError: false,
      });
  }

  /**
   * What stays possible: Slack has no idempotency key and a bot cannot cheaply find its own message by
   * metadata, so the ledger is the only memory. If the process dies after chat.postMessage succeeded
   * and before the notifier wrote the ledger, the retried job posts again: one duplicate root message
   * (first send) or one duplicate thread reply (later sends) per such crash. chat.update is idempotent,
   * so a resolution's edit of the root never duplicates. Jira, PagerDuty and GitHub do not have this
   * window: they find what they created by label, dedup_key and marker.
   */
  async send(notification: Notification, previous: DeliveryLedger | undefined): Promise<DeliveryLedger> {
    const message = renderSlack(notification, this.renderOptions);
    const status = isAllResolved(notification) ? 'resolved' : 'open';
    if (!previous) {
      const { channel, ts } = await this.post(message, this.config.channel);
      return {
        ref: `${channel}:${ts}`,
        lastNotificationId: notification.id,
        status,
        sentAt: notification.createdAt,
        extra: { channel, ts },
      };
    }

    const root = rootOf(previous);
    const reopened = previous.status === 'resolved' && status === 'open';
    // The root is edited before the reply is posted: chat.update is idempotent, so when the reply
    // fails and the job is retried, nothing shows twice.
    if (status === 'resolved' || reopened) await this.update(message, root);
    // A regression after everything was resolved is news for the whole channel, not just the thread.
    const reply = await this.post(message, root.channel, { threadTs: root.ts, broadcast: reopened });
    return {
      ref: previous.ref,
      lastNotificationId: notification.id,
      status,
      sentAt: notification.createdAt,
      extra: { ...previous.extra, channel: root.channel, ts: root.ts, lastReplyTs: reply.ts },
    };
  }

  private async post(message: SlackRendering, channel: string, thread?: { threadTs: string; broadcast: boolean }): Promise<{ channel: string; ts: string }> {
    const args = {
      channel,
      text: message.text,
      blocks: message.blocks,
      // Finding references are third-party URLs: no previews of them in the channel.
      unfurl_links: false,
      unfurl_media: false,
    };
    const result = await this.call(() =>
      this.client.chat.postMessage(thread ? { ...args, thread_ts: thread.threadTs, reply_broadcast: thread.broadcast } : args),
    );
    if (!result.channel || !result.ts) {
      throw new DestinationUnavailable('slack: chat.postMessage answered without channel or ts');
    }
    return { channel: result.channel, ts: result.ts };
  }

  private async update(message: SlackRendering, root: { channel: string; ts: string }): Promise<void> {
    await this.call(() => this.client.chat.update({ channel: root.channel, ts: root.ts, text: message.text, blocks: message.blocks }));
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw toDeliveryError(err);
    }
  }
}

/** The root message: from the ledger's extras, or its `channel:ts` reference. */
function rootOf(previous: DeliveryLedger): { channel: string; ts: string } {
  if (previous.extra?.channel && previous.extra.ts) return { channel: previous.extra.channel, ts: previous.extra.ts };
  const at = previous.ref.lastIndexOf(':');
  return { channel: previous.ref.slice(0, at), ts: previous.ref.slice(at + 1) };
}

/**
 * Maps @slack/web-api's coded errors onto the three the notifier decides on; anything else is a bug
 * and passes through. The client's error is not kept as `cause`: it may hold request headers.
 */
export function toDeliveryError(err: unknown): unknown {
  if (!isWebApiError(err)) return err;
  const { ErrorCode } = slackApi();
  switch (err.code) {
    case ErrorCode.RateLimitedError:
      return new RateLimited(err.retryAfter * 1000);
    case ErrorCode.PlatformError: {
      const error = err.data.error;
      return REJECTING_ERRORS.has(error) ? new DestinationRejected(`slack: ${error}`) : new DestinationUnavailable(`slack: ${error}`);
    }
    case ErrorCode.HTTPError:
      // Slack answers with 200 or 429 only; a 5xx or 408 is an outage, any other status a wrong apiUrl.
      return err.statusCode >= 500 || err.statusCode === 408
        ? new DestinationUnavailable(`slack: HTTP ${err.statusCode}`, err.statusCode)
        : new DestinationRejected(`slack: HTTP ${err.statusCode}`, err.statusCode);
    case ErrorCode.RequestError:
      return new DestinationUnavailable(`slack: ${err.message}`);
    default:
      return err;
  }
}

function isWebApiError(err: unknown): err is WebAPICallError {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && (Object.values(slackApi().ErrorCode) as unknown[]).includes(code);
}
