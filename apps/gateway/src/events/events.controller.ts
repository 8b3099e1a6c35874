import { HttpStatus, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { JOB, QUEUE, Runtime } from '@klaxon/platform';
import { ApiError } from '../http/api-error';
import { DeadLetterReplayResponse, DeadLettersResponse, EventResponse, QuarantineResponse, ReplayResponse } from '../http/api-responses';
import { Access } from '../http/api-token.guard';

/** Lenient on purpose: a limit out of range is clamped, one that is not a number is the default. */
const pageSchema = z.object({
  limit: z.coerce
    .number()
    .catch(50)
    .transform((n) => Math.min(Math.max(Math.trunc(n) || 50, 1), 500)),
  offset: z.coerce
    .number()
    .catch(0)
    .transform((n) => Math.max(Math.trunc(n) || 0, 0)),
});
class PageQueryDto extends createZodDto(pageSchema) {}

/** What became of an input, and the inputs that failed to parse. */
@Controller('v1')
export class EventsController {
  constructor(private readonly runtime: Runtime) {}

  @ApiResponse({ status: 200, type: EventResponse })
  @Get('events/:id')
  @Access('read')
  async event(@Param('id') id: string) {
    const event = await this.runtime.events.get(id);
    if (!event) throw ApiError.notFound(`event ${id}`);
    return event;
  }

  @ApiResponse({ status: 200, type: QuarantineResponse })
  @Get('quarantine')
  async quarantine(@Query() { limit, offset }: PageQueryDto) {
    return { offset, limit, ...(await this.runtime.events.listQuarantine(offset, limit)) };
  }

  /** Puts a quarantined input back through ingest, with the parsers as they are now. */
  @ApiResponse({ status: 202, type: ReplayResponse })
  @Post('quarantine/:id/replay')
  @HttpCode(202)
  async replay(@Param('id') id: string) {
    const { events, queues } = this.runtime;
    if (!(await events.isQuarantined(id))) throw ApiError.notFound(`quarantined event ${id}`);
    const bodyDropped = (await events.get(id))?.bodyDropped;
    if (bodyDropped)
      throw new ApiError(HttpStatus.GONE, { error: 'gone', message: `event ${id} cannot be replayed: its body was dropped, ${bodyDropped}`, field: 'id' });
    await events.release(id);
    const event = await events.get(id);
    await queues.add(QUEUE.ingest, JOB.ingest, { eventId: id }, { jobId: `ingest-${id}-${event!.replays}` });
    return { eventId: id, replay: event!.replays };
  }

  @ApiResponse({ status: 200, type: DeadLettersResponse })
  @Get('dead-letters')
  async deadLetters(@Query() { limit, offset }: PageQueryDto) {
    return { offset, limit, ...(await this.runtime.queues.deadLetters.list(offset, limit)) };
  }

  @ApiResponse({ status: 202, type: DeadLetterReplayResponse })
  @Post('dead-letters/:id/replay')
  @HttpCode(202)
  async replayDeadLetter(@Param('id') id: string) {
    if (!(await this.runtime.queues.replayDeadLetter(id))) throw ApiError.notFound(`dead letter ${id}`);
    return { id, replayed: true };
  }
}
