import type { Severity } from '@klaxon/findings';
import type { KlaxonConfig } from '@klaxon/platform';
import type { AssetRepository } from '../assets/asset.repository';
import { namespaceKey, workloadContext } from '../assets/facts';
import { scoreRisk, type WorkloadContext } from '../risk/risk';
import { vulnerabilitySubject } from './correlate.usecase';

export interface RankedFinding {
  fingerprint: string;
  kind: 'vulnerability' | 'runtime';
  rule: string;
  severity: Severity;
  package?: string;
  fixed?: string;
  score: number;
  reasons: string[];
}

export interface RankedWorkload {
  workload: Omit<WorkloadContext, 'detections' | 'linkedBy'>;
  /** The highest risk of any finding in it: what the ranking sorts on, then the number of findings at 70 or more. */
  risk: number;
  findings: { total: number; atLeast70: number };
  top: RankedFinding[];
}

const TOP = 5;

/**
 * Workloads stack-ranked by the risk of what they run: every vulnerability of their images and every
 * runtime detection on them, scored in that workload's own context (the same CVE ranks its internet-
 * facing production Deployment above its development twin).
 */
export class RankWorkloads {
  constructor(
    private readonly assets: AssetRepository,
    private readonly config: Pick<KlaxonConfig, 'context' | 'risk'>,
  ) {}

  async execute(now: Date, limit: number): Promise<{ total: number; items: RankedWorkload[] }> {
    const since = new Date(now.getTime() - this.config.risk.factsMaxAgeHours * 3_600_000);
    const ids = await this.assets.liveWorkloads(since);
    const workloads = [...(await this.assets.workloads(ids)).values()];
    const digests = [...new Set(workloads.flatMap((w) => w.images.flatMap((i) => (i.digest ? [i.digest] : []))))];
    const [vulns, detections, namespaces] = await Promise.all([
      this.assets.vulnerabilities(digests),
      this.assets.detections(ids, new Date(now.getTime() - this.config.risk.runtimeWindowHours * 3_600_000)),
      this.assets.namespaces(workloads.map((w) => namespaceKey(w.cluster, w.namespace))),
    ]);

    const ranked = workloads.map((w): RankedWorkload => {
      const own = w.images.flatMap((i) => (i.digest ? [{ digest: i.digest, linkedBy: i.linkedBy ?? 'digest' }] : []));
      const ns = namespaces.get(namespaceKey(w.cluster, w.namespace)) ?? { services: [], ingresses: [] };
      const ctx = (linkedBy: WorkloadContext['linkedBy']) => workloadContext(w, ns, detections.get(w.id) ?? [], linkedBy, this.config.context);
      const scored: RankedFinding[] = [];
      const seen = new Set<string>();
      for (const { digest, linkedBy } of own) {
        const imageVulns = vulns.get(digest) ?? [];
        for (const v of imageVulns) {
          if (seen.has(v.fingerprint)) continue;
          seen.add(v.fingerprint);
          const risk = scoreRisk(vulnerabilitySubject(v), { workloads: [ctx(linkedBy)], vulnerabilities: [] }, this.config.risk, now);
          scored.push({
            fingerprint: v.fingerprint,
            kind: 'vulnerability',
            rule: v.id,
            severity: v.severity,
            package: v.package,
            fixed: v.fixed,
            score: risk.score,
            reasons: risk.reasons,
          });
        }
      }
      for (const d of detections.get(w.id) ?? []) {
        if (seen.has(d.fingerprint)) continue;
        seen.add(d.fingerprint);
        const imageVulns = d.digest ? (vulns.get(d.digest) ?? []) : [];
        const risk = scoreRisk(
          { kind: 'runtime', severity: d.severity, fixable: false, rule: { id: d.rule } },
          { workloads: [ctx(d.linkedBy ?? 'workload')], vulnerabilities: imageVulns },
          this.config.risk,
          now,
        );
        scored.push({ fingerprint: d.fingerprint, kind: 'runtime', rule: d.rule, severity: d.severity, score: risk.score, reasons: risk.reasons });
      }
      scored.sort((a, b) => b.score - a.score || a.rule.localeCompare(b.rule));
      const { detections: _d, linkedBy: _l, ...workload } = ctx('digest');
      return {
        workload,
        risk: scored[0]?.score ?? 0,
        findings: { total: scored.length, atLeast70: scored.filter((f) => f.score >= 70).length },
        top: scored.slice(0, TOP),
      };
    });
    ranked.sort((a, b) => b.risk - a.risk || b.findings.atLeast70 - a.findings.atLeast70 || a.workload.id.localeCompare(b.workload.id));
    return { total: ranked.length, items: ranked.slice(0, limit) };
  }
}
