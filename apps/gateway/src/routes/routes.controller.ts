import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Runtime } from '@klaxon/platform';
import { findingProbeSchema, probeFinding, testRoute } from '@klaxon/routing';
import { ExceptionStore } from '@klaxon/triage';
import { jsonBody, validate } from '../http/api-error';

/** `POST /v1/routes/test`: a finding in; the routes, destinations and suppressing exception out. Nothing is sent. */
@Controller('v1/routes')
export class RoutesController {
  constructor(
    private readonly runtime: Runtime,
    private readonly exceptions: ExceptionStore,
  ) {}

  @Post('test')
  @HttpCode(200)
  async test(@Req() request: FastifyRequest) {
    const finding = probeFinding(validate(findingProbeSchema, jsonBody(request.body)));
    return testRoute(this.runtime.config.routes, finding, await this.exceptions.covering(finding, this.runtime.clock()));
  }
}
