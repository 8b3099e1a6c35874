import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Runtime } from '@klaxon/platform';
import { findingProbeSchema, probeFinding, testRoute } from '@klaxon/routing';
import { ExceptionRepository, ExceptionStore } from '@klaxon/triage';
import { jsonBody, validate } from '../http/api-error';
import { Access } from '../http/api-token.guard';

/** `POST /v1/routes/test`: a finding in; the routes, destinations and suppressing exception out. Nothing is sent. */
@Access('read')
@Controller('v1/routes')
export class RoutesController {
  private readonly exceptions: ExceptionStore;

  constructor(private readonly runtime: Runtime) {
    this.exceptions = new ExceptionStore(runtime.exceptions, new ExceptionRepository(runtime.redis, runtime.prefix));
  }

  @Post('test')
  @HttpCode(200)
  async test(@Req() request: FastifyRequest) {
    const finding = probeFinding(validate(findingProbeSchema, jsonBody(request.body)));
    return testRoute(this.runtime.config.routes, finding, await this.exceptions.covering(finding, this.runtime.clock()));
  }
}
