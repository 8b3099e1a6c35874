import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Runtime } from '@klaxon/platform';
import { findingProbeSchema, probeFinding, testRoute } from '@klaxon/routing';
import { ExceptionStore } from '@klaxon/triage';
import { RouteTestResponse } from '../http/api-responses';

/** Any part of a finding; what is left out is empty. */
class FindingProbeDto extends createZodDto(findingProbeSchema) {}
import { Access } from '../http/api-token.guard';

/** `POST /v1/routes/test`: a finding in; the routes, destinations and suppressing exception out. Nothing is sent. */
@Access('read')
@Controller('v1/routes')
export class RoutesController {
  constructor(
    private readonly runtime: Runtime,
    private readonly exceptions: ExceptionStore,
  ) {}

  @ApiResponse({ status: 200, type: RouteTestResponse })
  @Post('test')
  @HttpCode(200)
  async test(@Body() probe: FindingProbeDto) {
    const finding = probeFinding(probe);
    return testRoute(this.runtime.config.routes, finding, await this.exceptions.covering(finding, this.runtime.clock()));
  }
}
