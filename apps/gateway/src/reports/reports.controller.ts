import { Controller, Headers, HttpCode, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formats } from '@klaxon/sources';
import { ApiError, validate } from '../http/api-error';
import { IntakeService } from './intake.service';

const CONTEXT_FIELDS = ['repo', 'commit', 'branch', 'pr', 'image', 'digest'] as const;

const contextSchema = z
  .object({
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name').optional(),
    commit: z.string().regex(/^[0-9a-f]{7,64}$/i, 'expected a commit SHA').optional(),
    branch: z.string().optional(),
    pr: z.coerce.number({ invalid_type_error: 'expected a pull request number' }).int().positive().optional(),
    image: z.string().optional(),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>').optional(),
  })
  .strict();

/** `POST /v1/reports?format=…`: a scanner's report from CI, with its build context. */
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly intake: IntakeService) {}

  @Post()
  @HttpCode(202)
  async upload(
    @Req() request: FastifyRequest,
    @Query() query: Record<string, string>,
    @Headers() headers: Record<string, string>,
  ): Promise<{ eventId: string; format: string }> {
    const format = query.format || undefined;
    if (format && !formats().includes(format)) {
      throw ApiError.badRequest('format', `unknown format "${format}"; one of ${formats().join(', ')}`);
    }
    const raw = request.body;
    if (typeof raw !== 'string' || raw.trim() === '') throw ApiError.badRequest('body', 'the report is empty');
    const context = validate(
      contextSchema,
      Object.fromEntries(
        CONTEXT_FIELDS.map((field) => [field, query[field] ?? headers[`x-klaxon-${field}`]]).filter(([, v]) => v !== undefined && v !== ''),
      ),
    );
    return this.intake.accept({ integration: 'report', format, context, raw, contentType: headers['content-type'] });
  }
}
