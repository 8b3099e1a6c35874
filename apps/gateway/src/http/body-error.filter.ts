import { Catch, HttpException, HttpStatus, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply } from 'fastify';

/**
 * Fastify refuses some bodies before a controller runs (too large, a media type the gateway does not
 * read, bytes that are not UTF-8); Nest turns those into bare `{statusCode, message}`. They are answered in the API's shape,
 * with the part of the request at fault.
 */
const BODY_ERRORS: Partial<Record<HttpStatus, { error: string; field: string; hint?: string }>> = {
  // Fastify's own 400s on a body it could not read: invalid UTF-8 makes the decoded size differ from Content-Length.
  [HttpStatus.BAD_REQUEST]: { error: 'bad_request', field: 'body', hint: ' (a body must be UTF-8 JSON)' },
  [HttpStatus.PAYLOAD_TOO_LARGE]: { error: 'payload_too_large', field: 'body' },
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: { error: 'unsupported_media_type', field: 'content-type', hint: ' (send JSON as application/json)' },
};

@Catch(HttpException)
export class BodyErrorFilter extends BaseExceptionFilter {
  override catch(exception: HttpException, host: ArgumentsHost): void {
    const known = BODY_ERRORS[exception.getStatus() as HttpStatus];
    const body = exception.getResponse();
    if (!known || (typeof body === 'object' && body !== null && 'error' in body && 'field' in body)) return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply.status(exception.getStatus()).send({ error: known.error, message: `${exception.message}${known.hint ?? ''}`, field: known.field });
  }
}
