import { Controller, Headers, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { ApiCredential } from '@klaxon/platform';
import { formats } from '@klaxon/sources';
import { ApiError } from '../http/api-error';
import { Access, Caller, assertRepo } from '../http/api-token.guard';
import { reportContextOf } from '../http/report-context';
import { IntakeService } from './intake.service';
import { IntakeResponse } from '../http/api-responses';
import { reportBody } from './report-body';

/** `POST /v1/reports?format=…`: a scanner's report from CI, with its build context. */
@Access('ci')
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly intake: IntakeService) {}

  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({ description: 'the document exactly as the tool wrote it (JSON, NDJSON or YAML), stored as received', schema: { type: 'string' } })
  @ApiResponse({ status: 202, type: IntakeResponse })
  @Post()
  @HttpCode(202)
  async upload(
    @Req() request: FastifyRequest,
    @Query() query: Record<string, string>,
    @Headers() headers: Record<string, string>,
    @Caller() caller?: ApiCredential,
  ): Promise<{ eventId: string; format: string }> {
    const format = query.format || undefined;
    if (format && !formats().includes(format)) {
      throw ApiError.badRequest('format', `unknown format "${format}"; one of ${formats().join(', ')}`);
    }
    const raw = reportBody(request.body, format, headers['content-type']);
    if (typeof raw !== 'string' || raw.trim() === '') throw ApiError.badRequest('body', 'the report is empty');
    const context = reportContextOf(query, headers);
    assertRepo(caller, context.repo);
    return this.intake.accept({ integration: 'report', format, context, raw, contentType: headers['content-type'] }, undefined, caller);
  }
}
