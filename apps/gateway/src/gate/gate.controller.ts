import { Controller, Headers, HttpCode, HttpStatus, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { GateService, UnknownImage, type GateAnswer } from '@klaxon/gate';
import { Runtime, type ApiCredential } from '@klaxon/platform';
import { ParseError, formats } from '@klaxon/sources';
import { ApiError } from '../http/api-error';
import { reportContextOf, uploadParam } from '../http/report-context';
import { GateResponse } from '../http/api-responses';
import { Access, Caller, assertRepo } from '../http/api-token.guard';

/**
 * `POST /v1/gate`: a CI asks "may this build go on?". The body is a report (Trivy, Grype, SARIF; the
 * format in `?format=` or detected), parsed but not stored; or no body and `?digest=` of an image
 * Klaxon already knows. Context (repo, branch, pr, commit, image) comes as for `/v1/reports`. The
 * answer is always 200 with `{pass, reasons, findings}`: failing is an answer, not an error.
 */
@Access('ci')
@Controller('v1/gate')
export class GateController {
  constructor(
    private readonly runtime: Runtime,
    private readonly gate: GateService,
  ) {}

  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({
    description: 'the document exactly as the tool wrote it (JSON, NDJSON or YAML), judged, not stored; leave it empty to judge ?digest=',
    schema: { type: 'string' },
  })
  @ApiResponse({ status: 200, type: GateResponse })
  @Post()
  @HttpCode(200)
  async judge(
    @Req() request: FastifyRequest,
    @Query() query: Record<string, string>,
    @Headers() headers: Record<string, string>,
    @Caller() caller?: ApiCredential,
  ): Promise<GateAnswer> {
    const context = reportContextOf(query, headers);
    assertRepo(caller, context.repo);
    const format = uploadParam(query, headers, 'format');
    if (format && !formats().includes(format)) throw ApiError.badRequest('format', `unknown format "${format}"; one of ${formats().join(', ')}`);
    const raw = typeof request.body === 'string' ? request.body : '';
    if (raw.trim() === '' && !context.digest) throw ApiError.badRequest('body', 'send a report as the body, or ?digest= of an image Klaxon knows');
    try {
      return await this.gate.judge({ raw, format, context, now: this.runtime.clock() });
    } catch (err) {
      if (err instanceof UnknownImage) throw ApiError.notFound(`findings of image ${err.digest}`);
      // Not quarantined: the gate stores nothing, and the CI that sent it sees the error now.
      if (err instanceof ParseError) throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, { error: 'parse_error', message: err.message, field: err.path });
      throw err;
    }
  }
}
