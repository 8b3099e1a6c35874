import type { Finding, Risk, Severity } from '@klaxon/findings';
import type { RiskConfig } from '@klaxon/platform';

/** How a workload was tied to the finding's image: by its digest, through pod/workload facts, or by tag only. */
export type LinkedBy = 'digest' | 'workload' | 'tag';

/** A runtime detection seen on a workload (the evidence that raises its vulnerabilities). */
export interface Detection {
  fingerprint: string;
  title: string;
  rule: string;
  severity: Severity;
  at: string;
}

/** A vulnerability of an image, as much as a runtime detection's explanation needs. */
export interface VulnerablePackage {
  fingerprint: string;
  id: string;
  package: string;
  installed?: string;
  fixed?: string;
  severity: Severity;
  fixable: boolean;
}

export interface BuildInfo {
  repo?: string;
  commit?: string;
  branch?: string;
  pullRequests: number[];
  url?: string;
}

/** One place a finding runs: a workload and what the cluster says about it. */
export interface WorkloadContext {
  /** `cluster/namespace/Kind/name`. */
  id: string;
  cluster?: string;
  namespace: string;
  kind: string;
  name: string;
  environment?: string;
  owners: Record<string, string>;
  /** Paths from the internet (`Ingress prod-shop/checkout`, `Service prod-shop/checkout (LoadBalancer)`); empty when internal. */
  exposedVia: string[];
  /** What a compromised container could reach beyond itself (`privileged`, `hostNetwork`, `hostPath /var/run`, `runs as root`). */
  privileges: string[];
  linkedBy: LinkedBy;
  lastSeen: string;
  /** Runtime detections on this workload, newest first. */
  detections: Detection[];
}

/** What correlation knows around one finding. */
export interface FindingContext {
  image?: { digest: string; repository?: string; tags: string[]; build?: BuildInfo };
  /** Where the finding's image runs now (a runtime finding: the workload it fired in). */
  workloads: WorkloadContext[];
  /** Vulnerabilities of the image (read for runtime findings: a vulnerable image raises the detection). */
  vulnerabilities: VulnerablePackage[];
}

/** The fields of a finding that scoring reads. */
export type RiskSubject = Pick<Finding, 'kind' | 'severity' | 'fixable'> & {
  fingerprint?: string;
  rule: Pick<Finding['rule'], 'id' | 'cvss' | 'exploited' | 'epss'>;
  package?: Pick<NonNullable<Finding['package']>, 'name' | 'fixed'>;
};

export interface RiskAssessment extends Risk {
  /** The workload whose context gave the highest score (its environment and exposure describe the finding). */
  workload?: WorkloadContext;
}

const HIGH_OR_CRITICAL = new Set<Severity>(['critical', 'high']);

function line(points: number, text: string): { points: number; text: string } {
  return { points: Math.round(points), text };
}

/** `4 min ago`, `3 h ago`, `2 d ago`: a reader's sense of how fresh the evidence is. */
export function formatAgo(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 120) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.floor(hours / 24)} d ago`;
}

function describeWorkload(w: WorkloadContext): string {
  const where = [w.cluster, w.namespace].filter(Boolean).join('/');
  const link = w.linkedBy === 'digest' ? '' : ` (linked by ${w.linkedBy})`;
  return `${where} ${w.kind} ${w.name}${link}`;
}

/** What the finding itself says: severity (CVSS when given), fix, exploitation. */
function intrinsic(finding: RiskSubject, config: RiskConfig) {
  const w = config.weights;
  const lines = [];
  const { cvss, exploited, epss } = finding.rule;
  if (cvss !== undefined) lines.push(line((cvss / 10) * w.critical, `${finding.severity} severity (CVSS ${cvss})`));
  else lines.push(line(w[finding.severity], `${finding.severity} severity`));
  if (finding.kind === 'vulnerability' && finding.fixable) {
    const fix = finding.package?.fixed ? `: ${finding.package.name} ${finding.package.fixed}` : '';
    lines.push(line(w.fixable, `fix available${fix}`));
  }
  if (exploited) lines.push(line(w.exploited, 'known exploited (CISA KEV or tool exploit flag)'));
  if (epss !== undefined && Math.round(epss * w.epss) > 0) lines.push(line(epss * w.epss, `EPSS ${Math.round(epss * 100)}%`));
  return lines;
}

/** A runtime detection is worse when the image it fired in has a fixable critical or high vulnerability. */
function vulnerableImage(finding: RiskSubject, context: FindingContext, config: RiskConfig) {
  if (finding.kind !== 'runtime') return [];
  const serious = context.vulnerabilities
    .filter((v) => v.fixable && HIGH_OR_CRITICAL.has(v.severity))
    .sort((a, b) => (a.severity === b.severity ? a.id.localeCompare(b.id) : a.severity === 'critical' ? -1 : 1));
  if (!serious.length) return [];
  const top = serious[0];
  const more = serious.length > 1 ? ` (+${serious.length - 1} more)` : '';
  const fix = top.fixed ? `, fix ${top.fixed}` : '';
  // Who shipped it is what an incident responder asks next.
  const build = context.image?.build;
  const prs = build?.pullRequests.length ? ` PR ${build.pullRequests.map((p) => `#${p}`).join(', ')}` : '';
  const shipped = build?.repo ? ` shipped by ${build.repo}${prs}${build.commit ? ` @ ${build.commit.slice(0, 12)}` : ''}` : '';
  return [line(config.weights.vulnerableImage, `vulnerable image${shipped}: ${top.severity} ${top.id} in ${top.package}${fix}${more}`)];
}

/** What one workload adds: running, environment, exposure, privileges, recent runtime activity. */
function workloadLines(finding: RiskSubject, w: WorkloadContext, config: RiskConfig, now: Date) {
  const weights = config.weights;
  const lines = [line(weights.running, `running in ${describeWorkload(w)}`)];
  const envPoints = w.environment ? (config.environments[w.environment] ?? 0) : 0;
  if (envPoints > 0) lines.push(line(envPoints, `${w.environment} environment`));
  if (w.exposedVia.length) lines.push(line(weights.internetFacing, `internet-facing via ${w.exposedVia.join(', ')}`));
  if (w.privileges.length) lines.push(line(weights.privileged, `privileged: ${w.privileges.join(', ')}`));
  if (finding.kind !== 'runtime') {
    const windowMs = config.runtimeWindowHours * 3_600_000;
    const recent = w.detections.find((d) => now.getTime() - Date.parse(d.at) <= windowMs);
    if (recent) lines.push(line(weights.runtimeActivity, `runtime: ${recent.title} ${formatAgo(now.getTime() - Date.parse(recent.at))}`));
  }
  return lines;
}

const total = (lines: { points: number }[]) => lines.reduce((sum, l) => sum + l.points, 0);

/**
 * Risk 0-100 of a finding in its context, with one explanation line per contribution
 * (`+20 internet-facing via Ingress prod-shop/checkout`). Where the image runs in several workloads,
 * the worst one counts and is named. Pure: `now` is passed in.
 */
export function scoreRisk(finding: RiskSubject, context: FindingContext, config: RiskConfig, now: Date): RiskAssessment {
  const lines = [...intrinsic(finding, config), ...vulnerableImage(finding, context, config)];
  let worst: WorkloadContext | undefined;
  let worstLines: { points: number; text: string }[] = [];
  for (const w of context.workloads) {
    const candidate = workloadLines(finding, w, config, now);
    if (!worst || total(candidate) > total(worstLines)) {
      worst = w;
      worstLines = candidate;
    }
  }
  const all = [...lines, ...worstLines].filter((l) => l.points > 0);
  const score = Math.max(0, Math.min(100, total(all)));
  return { score, reasons: all.map((l) => `+${l.points} ${l.text}`), workload: worst };
}
