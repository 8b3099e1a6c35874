import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { Runtime, exceptionSchema } from '@klaxon/platform';
import { ExceptionRepository, ExceptionStore, armExceptionEnd, isActive, toView, type Exception } from '@klaxon/triage';
import { ApiError } from '../http/api-error';
import { DeletedResponse, ExceptionResponse, ExceptionsResponse } from '../http/api-responses';

/** An exception of `config/exceptions.yaml`; `id` may be left out (one is made up). */
const newExceptionSchema = z.preprocess(
  (body) => (body && typeof body === 'object' && !Array.isArray(body) ? { id: `exc_${randomUUID().slice(0, 8)}`, ...body } : body),
  exceptionSchema,
);
class NewExceptionDto extends createZodDto(newExceptionSchema) {}
import { Access } from '../http/api-token.guard';

/**
 * `GET/POST/DELETE /v1/exceptions`: accepted risks with matchers, reason, owner and expiry. Bodies are
 * checked with the schema of `config/exceptions.yaml`: no expiry and no `permanent: true` is a 400
 * naming `expires`. Exceptions of the config file are listed but changed only in Git.
 */
@Controller('v1/exceptions')
export class ExceptionsController {
  constructor(
    private readonly runtime: Runtime,
    private readonly repository: ExceptionRepository,
    private readonly store: ExceptionStore,
  ) {}

  private view(exception: Exception) {
    return { ...toView(exception), active: isActive(exception, this.runtime.clock()) };
  }

  @ApiResponse({ status: 200, type: ExceptionsResponse })
  @Get()
  @Access('read')
  async list() {
    const items = (await this.store.list()).map((e) => this.view(e));
    return { total: items.length, items };
  }

  @ApiResponse({ status: 200, type: ExceptionResponse })
  @Get(':id')
  @Access('read')
  async get(@Param('id') id: string) {
    const exception = await this.store.get(id);
    if (!exception) throw ApiError.notFound(`exception ${id}`);
    return this.view(exception);
  }

  @ApiResponse({ status: 201, type: ExceptionResponse })
  @Post()
  @HttpCode(201)
  async create(@Body() body: NewExceptionDto) {
    const now = this.runtime.clock();
    const parsed = { ...body, created: body.created ?? now };
    if (this.store.isConfigured(parsed.id)) {
      throw new ApiError(HttpStatus.CONFLICT, {
        error: 'conflict',
        message: `id: exception ${parsed.id} is declared in the exceptions file; change it there`,
        field: 'id',
      });
    }
    if (!parsed.permanent && parsed.expires && parsed.expires.getTime() <= now.getTime()) {
      throw ApiError.badRequest('expires', 'must be in the future');
    }
    const exception: Exception = { ...parsed, origin: 'api' };
    await this.repository.put(exception);
    if (!exception.permanent) await armExceptionEnd(this.runtime.queues, exception, 'expired', now);
    return this.view(exception);
  }

  /** Deleting ends it now: the findings it suppressed are routed as if new. */
  @ApiResponse({ status: 200, type: DeletedResponse })
  @Delete(':id')
  async remove(@Param('id') id: string) {
    if (this.store.isConfigured(id)) {
      throw new ApiError(HttpStatus.CONFLICT, {
        error: 'conflict',
        message: `exception ${id} is declared in the exceptions file; remove it there`,
        field: 'id',
      });
    }
    if (!(await this.repository.remove(id))) throw ApiError.notFound(`exception ${id}`);
    await armExceptionEnd(this.runtime.queues, { id }, 'deleted', this.runtime.clock());
    return { id, deleted: true };
  }
}
