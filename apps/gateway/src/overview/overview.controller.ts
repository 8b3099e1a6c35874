import { Controller, Get, Query } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { FINDING_KINDS, SEVERITIES } from '@klaxon/findings';
import { Runtime, StatsRepository } from '@klaxon/platform';
import { FindingRepository } from '@klaxon/triage';
import { OverviewResponse } from '../http/api-responses';
import { Access } from '../http/api-token.guard';

class OverviewQueryDto extends createZodDto(z.object({ days: z.coerce.number().int().min(1).max(90).default(14) }).strict()) {}

/**
 * `GET /v1/overview`: what the dashboard's first page shows — open findings by severity and kind (index
 * counts, not a scan), lifecycle changes per day, notifications sent per destination, and what failed.
 */
@Access('read')
@Controller('v1/overview')
export class OverviewController {
  constructor(
    private readonly runtime: Runtime,
    private readonly findings: FindingRepository,
    private readonly stats: StatsRepository,
  ) {}

  @ApiResponse({ status: 200, type: OverviewResponse })
  @Get()
  async overview(@Query() { days }: OverviewQueryDto) {
    const filters = [
      { state: 'open' },
      ...SEVERITIES.map((severity) => ({ state: 'open', severity })),
      ...FINDING_KINDS.map((kind) => ({ state: 'open', kind })),
    ];
    const [counts, daily, sent, quarantine, deadLetters] = await Promise.all([
      this.findings.countMatching(filters),
      this.stats.daily(days, this.runtime.clock()),
      this.stats.sent(),
      this.runtime.events.listQuarantine(0, 1),
      this.runtime.queues.deadLetters.list(0, 1),
    ]);
    const [total, ...rest] = counts;
    const bySeverity = rest.slice(0, SEVERITIES.length);
    const byKind = rest.slice(SEVERITIES.length);
    return {
      open: {
        total,
        bySeverity: Object.fromEntries(SEVERITIES.map((s, i) => [s, bySeverity[i]])),
        byKind: Object.fromEntries(FINDING_KINDS.map((k, i) => [k, byKind[i]])),
      },
      daily,
      sent,
      failed: { quarantined: quarantine.total, deadLetters: deadLetters.total },
    };
  }
}
