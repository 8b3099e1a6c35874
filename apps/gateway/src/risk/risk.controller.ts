import { Controller, Get, Query } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { Runtime } from '@klaxon/platform';
import { RankWorkloads } from '@klaxon/triage';
import { RiskResponse } from '../http/api-responses';
import { Access } from '../http/api-token.guard';

class RiskQueryDto extends createZodDto(z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }).strict()) {}

/** `GET /v1/risk/workloads`: the workloads running now, stack-ranked by the risk of what they run, with reasons. */
@Access('read')
@Controller('v1/risk')
export class RiskController {
  constructor(
    private readonly runtime: Runtime,
    private readonly rank: RankWorkloads,
  ) {}

  @ApiResponse({ status: 200, type: RiskResponse })
  @Get('workloads')
  async workloads(@Query() { limit }: RiskQueryDto) {
    return { limit, ...(await this.rank.execute(this.runtime.clock(), limit)) };
  }
}
