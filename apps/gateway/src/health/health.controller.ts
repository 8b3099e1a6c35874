import { Controller, Get, Header, HttpException, HttpStatus } from '@nestjs/common';
import { Runtime } from '@klaxon/platform';
import { Public } from '../http/api-token.guard';

@Public()
@Controller()
export class HealthController {
  constructor(private readonly runtime: Runtime) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /** Ready when Redis answers: without it nothing can be stored or queued. */
  @Get('readyz')
  async readyz() {
    try {
      await this.runtime.redis.ping();
      return { status: 'ready' };
    } catch (err) {
      throw new HttpException({ status: 'not ready', error: 'redis_unreachable', message: (err as Error).message }, HttpStatus.SERVICE_UNAVAILABLE);
    }
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics() {
    return this.runtime.metrics.registry.metrics();
  }
}
