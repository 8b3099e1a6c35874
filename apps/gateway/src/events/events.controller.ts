import { HttpStatus, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { JOB, QUEUE, Runtime } from '@klaxon/platform';
import { ApiError } from '../http/api-error';
import { Access } from '../http/api-token.guard';

function page(query: Record<string, string>) {
  const limit = Math.min(Math.max(Number(query.limit ?? 50) || 50, 1), 500);
  const offset = Math.max(Number(query.offset ?? 0) || 0, 0);
  return { limit, offset };
}

/** What became of an input, and the inputs that failed to parse. */
@Controller('v1')
export class EventsController {
  constructor(private readonly runtime: Runtime) {}

  @Get('events/:id')
  @Access('read')
  async event(@Param('id') id: string) {
    const event = await this.runtime.events.get(id);
    if (!event) throw ApiError.notFound(`event ${id}`);
    return event;
  }

  @Get('quarantine')
  async quarantine(@Query() query: Record<string, string>) {
    const { limit, offset } = page(query);
    return { offset, limit, ...(await this.runtime.events.listQuarantine(offset, limit)) };
  }

  /** Puts a quarantined input back through ingest, with the parsers as they are now. */
  @Post('quarantine/:id/replay')
  @HttpCode(202)
  async replay(@Param('id') id: string) {
    const { events, queues } = this.runtime;
    if (!(await events.isQuarantined(id))) throw ApiError.notFound(`quarantined event ${id}`);
    const bodyDropped = (await events.get(id))?.bodyDropped;
    if (bodyDropped) throw new ApiError(HttpStatus.GONE, { error: 'gone', message: `event ${id} cannot be replayed: its body was dropped, ${bodyDropped}`, field: 'id' });
    await events.release(id);
    const event = await events.get(id);
    await queues.add(QUEUE.ingest, JOB.ingest, { eventId: id }, { jobId: `ingest-${id}-${event!.replays}` });
    return { eventId: id, replay: event!.replays };
  }

  @Get('dead-letters')
  async deadLetters(@Query() query: Record<string, string>) {
    const { limit, offset } = page(query);
    return { offset, limit, ...(await this.runtime.queues.deadLetters.list(offset, limit)) };
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(202)
  async replayDeadLetter(@Param('id') id: string) {
    if (!(await this.runtime.queues.replayDeadLetter(id))) throw ApiError.notFound(`dead letter ${id}`);
    return { id, replayed: true };
  }
}
