import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { FINDING_KINDS, FINDING_STATES, SEVERITIES, severityRank } from '@klaxon/findings';
import { Runtime } from '@klaxon/platform';
import { testRoute } from '@klaxon/routing';
import { AssetRepository, ExceptionStore, FindingRepository, findingOf, type FindingFilter } from '@klaxon/triage';
import { ApiError } from '../http/api-error';
import { FindingResponse, FindingsResponse } from '../http/api-responses';
import { Access } from '../http/api-token.guard';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);
/** `a,b` or a single value. */
const textList = () => csv.optional();
/** `a,b` or a single value, each one of `values`. */
const enumList = <T extends string>(values: readonly [T, ...T[]]) => csv.pipe(z.array(z.enum(values))).optional();

const querySchema = z
  .object({
    state: enumList(FINDING_STATES),
    kind: enumList(FINDING_KINDS),
    /** Exact severities; `minSeverity=high` means high and critical. */
    severity: enumList(SEVERITIES),
    minSeverity: z.enum(SEVERITIES).optional(),
    image: textList(),
    digest: textList(),
    /** `namespace/name` or `cluster/namespace/kind/name`. */
    workload: textList(),
    repo: textList(),
    /** Current risk score at least this (rescores after a context change included). */
    minRisk: z.coerce.number().min(0).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
class FindingsQueryDto extends createZodDto(querySchema) {}

/** `GET /v1/findings` (filtered, newest first, paginated) and `GET /v1/findings/{fingerprint}`. */
@Access('read')
@Controller('v1/findings')
export class FindingsController {
  constructor(
    private readonly runtime: Runtime,
    private readonly findings: FindingRepository,
    private readonly assets: AssetRepository,
    private readonly exceptions: ExceptionStore,
  ) {}

  @ApiResponse({ status: 200, type: FindingsResponse })
  @Get()
  async list(@Query() query: FindingsQueryDto) {
    const { limit, offset, minSeverity, ...filters } = query;
    const filter: FindingFilter = filters;
    if (minSeverity) {
      const atLeast = SEVERITIES.filter((s) => severityRank(s) >= severityRank(minSeverity));
      filter.severity = filters.severity ? filters.severity.filter((s) => atLeast.includes(s)) : [...atLeast];
      if (!filter.severity.length) return { total: 0, offset, limit, items: [] };
    }
    const page = await this.findings.query(filter, offset, limit);
    const records = await this.findings.getMany(page.fingerprints);
    return { total: page.total, offset, limit, items: records.map(({ history: _h, ...record }) => record) };
  }

  /**
   * One finding with its sources, digests, workloads and history, the routes it matches, the exception
   * covering it, and its correlated context (current risk and why, where it runs, who built it).
   */
  @ApiResponse({ status: 200, type: FindingResponse })
  @Get(':fingerprint')
  async get(@Param('fingerprint') fingerprint: string) {
    const record = await this.findings.get(fingerprint);
    if (!record) throw ApiError.notFound(`finding ${fingerprint}`);
    const finding = findingOf(record);
    const [exception, context] = await Promise.all([
      this.exceptions.covering(finding, this.runtime.clock()),
      this.assets.describeContext(fingerprint, finding.artifact?.digest),
    ]);
    const { routes, exception: covering } = testRoute(this.runtime.config.routes, finding, exception);
    const { exception: suppressedBy, ...rest } = record;
    // suppressedBy: the exception that suppressed it at its last triage; exception: the one covering it now.
    return { ...rest, suppressedBy: suppressedBy ?? null, routes, exception: covering ?? null, context: context ?? null };
  }
}
