import { Controller, Headers, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { newEventId, Runtime } from '@klaxon/platform';
import { integrationFor, integrations } from '@klaxon/sources';
import { ApiError } from '../http/api-error';
import { Public } from '../http/api-token.guard';
import { IntakeService } from '../reports/intake.service';
import { WebhookResponse } from '../http/api-responses';

/**
 * `POST /v1/webhooks/{integration}`: each sender authenticates its own way (signature, token, auth
 * header), so these routes skip the API token. A redelivery (same delivery id) is acknowledged with
 * the first event's id and not processed twice.
 */
@Public()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    private readonly intake: IntakeService,
    private readonly runtime: Runtime,
  ) {}

  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({ description: "the sender's own payload, stored as received", schema: { type: 'string' } })
  @ApiResponse({ status: 202, type: WebhookResponse })
  @ApiResponse({ status: 200, type: WebhookResponse })
  @Post(':integration')
  async receive(
    @Param('integration') name: string,
    @Req() request: FastifyRequest,
    @Headers() headers: Record<string, string | undefined>,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Query() query: Record<string, string | undefined> = {},
  ) {
    const integration = integrationFor(name);
    if (!integration) throw ApiError.badRequest('integration', `unknown integration "${name}"; one of ${integrations().join(', ')}`);
    // A web page can post text/plain anywhere without a CORS preflight: no sender of ours needs it.
    if (/^text\/plain\b/i.test(headers['content-type'] ?? '')) {
      throw new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, {
        error: 'unsupported_media_type',
        message: 'content-type: text/plain is not read on webhooks; send application/json',
        field: 'content-type',
      });
    }
    const raw = typeof request.body === 'string' ? request.body : '';
    if (raw.trim() === '') throw ApiError.badRequest('body', 'the webhook body is empty');
    const webhook = { headers, raw, query };
    const refusal = integration.authenticate(webhook, this.runtime.config.sources);
    if (refusal) throw new ApiError(HttpStatus.UNAUTHORIZED, { error: 'unauthorized', message: refusal, field: 'authorization' });

    let eventId = newEventId();
    const deliveryId = integration.deliveryId?.(webhook);
    // The delivery id keys the redelivery record: a control character in it could address another key.
    if (deliveryId && /[\u0000-\u001f\u007f]/.test(deliveryId)) throw ApiError.badRequest('delivery id', 'control characters are not allowed');
    if (deliveryId) {
      const first = await this.runtime.events.claimDelivery(name, deliveryId, eventId);
      if (first && (await this.intake.wasTakenIn(first))) {
        reply.status(HttpStatus.OK);
        return { eventId: first, duplicate: true };
      }
      // The first delivery died before it was queued: this retry is taken in under its id.
      if (first) eventId = first;
    }
    reply.status(HttpStatus.ACCEPTED);
    try {
      return await this.intake.accept(
        {
          integration: `webhook:${name}`,
          format: integration.format(webhook),
          context: { ...integration.context?.(webhook), ...(deliveryId ? { deliveryId } : {}) },
          raw,
          contentType: headers['content-type'],
        },
        eventId,
      );
    } catch (err) {
      // A quarantined input (an ApiError: 4xx) was taken in and a redelivery would only quarantine it
      // again; anything else failed before it was queued, so the sender's retry must be processed.
      if (deliveryId && !(err instanceof ApiError)) await this.runtime.events.releaseDelivery(name, deliveryId, eventId);
      throw err;
    }
  }
}
