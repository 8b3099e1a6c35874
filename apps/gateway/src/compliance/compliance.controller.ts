import { Controller, Get, Query } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { Runtime } from '@klaxon/platform';
import { ComplianceRepository, FindingRepository, summarizeCompliance } from '@klaxon/triage';
import { ComplianceResponse } from '../http/api-responses';
import { Access } from '../http/api-token.guard';

const query = z
  .object({
    standard: z.string().min(1).optional(),
    cluster: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    days: z.coerce.number().int().min(1).max(90).default(30),
  })
  .strict();
class ComplianceQueryDto extends createZodDto(query) {}

/** Findings shown under one failing control: enough to act on it without opening each. */
const FINDINGS_PER_CONTROL = 20;

/**
 * `GET /v1/compliance`: pass/fail per standard and control (CIS Kubernetes from kube-bench, Pod Security
 * Standards from Kyverno's policy categories, Trivy Operator's ClusterComplianceReports) per cluster and
 * namespace, the daily trend, and for each failing control its findings and remediation.
 */
@Access('read')
@Controller('v1/compliance')
export class ComplianceController {
  constructor(
    private readonly runtime: Runtime,
    private readonly compliance: ComplianceRepository,
    private readonly findings: FindingRepository,
  ) {}

  @ApiResponse({ status: 200, type: ComplianceResponse })
  @Get()
  async view(@Query() { days, ...filter }: ComplianceQueryDto) {
    const [results, trend] = await Promise.all([this.compliance.all(filter), this.compliance.trend(days, this.runtime.clock())]);
    const standards = summarizeCompliance(results);
    const wanted = standards.flatMap((s) => s.controls.filter((c) => c.status !== 'pass').flatMap((c) => c.findings.slice(0, FINDINGS_PER_CONTROL)));
    const records = new Map((await this.findings.getMany([...new Set(wanted)])).map((r) => [r.fingerprint, r]));
    return {
      standards: standards.map((standard) => ({
        ...standard,
        controls: standard.controls.map(({ findings, ...control }) => ({
          ...control,
          findings:
            control.status === 'pass'
              ? []
              : findings.slice(0, FINDINGS_PER_CONTROL).flatMap((fp) => {
                  const r = records.get(fp);
                  return r ? [{ fingerprint: fp, title: r.title, severity: r.severity, state: r.state, workload: r.workload, remediation: r.remediation }] : [];
                }),
        })),
      })),
      trend: trend.filter((p) => !filter.standard || p.standard === filter.standard),
    };
  }
}
