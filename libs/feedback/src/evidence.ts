import { severityRank, type Finding, type Severity } from '@klaxon/findings';
import type { Detection } from './rule-table';

/** A connection a workload made, as runtime sensors report it. */
export interface Egress {
  protocol: 'TCP' | 'UDP';
  ip: string;
  port: number;
  /** Seen by a detection that marks it as not legitimate (C2, miner pool). */
  denied: boolean;
}

/** What one runtime finding adds to a suggestion's evidence. */
export interface Observation {
  /** The detection's rule (Falco rule name, ACS policy). */
  detection: string;
  tool: string;
  at: string;
  /** What a reviewer recognises: the command line, or the file written or read. */
  sample?: string;
  egress?: Egress;
  /** The finding's severity: how strongly the sensor rates what it saw. */
  severity?: Severity;
  /** `runtime` (a sensor saw it happen) or `deploy` (a policy or config scan of the workload). */
  stage?: 'runtime' | 'deploy';
  /** The container it was seen in, when the sensor or report named one. */
  container?: string;
}

export interface DetectionEvidence {
  rule: string;
  tool: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  samples: string[];
  /** The strongest severity seen (absent on evidence recorded before it was kept: the rule's severity counts). */
  severity?: Severity;
  /** `runtime` once any occurrence was seen at run time, else `deploy` (absent on older evidence: runtime). */
  stage?: 'runtime' | 'deploy';
  /** The containers it was seen in, sorted, at most CONTAINER_LIMIT. */
  containers?: string[];
}

/** Everything seen that backs one suggestion: per detection, and the connections observed. */
export interface Evidence {
  count: number;
  firstSeen: string;
  lastSeen: string;
  detections: DetectionEvidence[];
  egress: Egress[];
}

/** Bounds kept per suggestion: enough for a reviewer, bounded so a noisy workload cannot grow it without end. */
export const SAMPLE_LIMIT = 5;
export const EGRESS_LIMIT = 100;
export const CONTAINER_LIMIT = 10;

/**
 * A field of the sensor's own record. Parsers keep Falco's output fields flat (`proc.cmdline`) or under
 * `output_fields`; both are read so the rule table does not depend on that choice.
 */
export function rawField(finding: Finding, field: string): unknown {
  const raw = finding.raw ?? {};
  if (field in raw) return raw[field];
  const nested = raw.output_fields;
  if (nested && typeof nested === 'object' && field in nested) return (nested as Record<string, unknown>)[field];
  return undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '' && value !== '<NA>') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Falco's server side of a connection (`fd.sip`/`fd.sport`), or the remote end (`fd.rip`/`fd.rport`). */
function egressOf(finding: Finding, detection: Detection): Egress | undefined {
  const ip = text(rawField(finding, 'fd.sip')) ?? text(rawField(finding, 'fd.rip'));
  const port = Number(text(rawField(finding, 'fd.sport')) ?? text(rawField(finding, 'fd.rport')));
  if (!ip || !(IPV4.test(ip) || ip.includes(':')) || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const l4 = (text(rawField(finding, 'fd.l4proto')) ?? 'tcp').toLowerCase();
  return { protocol: l4 === 'udp' ? 'UDP' : 'TCP', ip, port, denied: detection.egress === 'deny' };
}

export function observe(finding: Finding, detection: Detection): Observation {
  const sample =
    text(rawField(finding, 'proc.cmdline')) ??
    text(rawField(finding, 'fd.name')) ??
    text(rawField(finding, 'process.arguments')) ??
    text(rawField(finding, 'proc.name'));
  return {
    detection: finding.rule.id,
    tool: finding.source.tool,
    at: finding.observedAt,
    sample: sample && sample.length > 300 ? `${sample.slice(0, 297)}...` : sample,
    egress: egressOf(finding, detection),
    severity: finding.severity,
    stage: finding.kind === 'runtime' ? 'runtime' : 'deploy',
    container: finding.workload?.container,
  };
}

function egressKey(e: Egress): string {
  return `${e.protocol}/${e.ip}/${e.port}`;
}

/**
 * Folds observations into evidence, as the Redis repository does atomically (this is its reference
 * and what tests and in-memory callers use). Order-independent: first/last seen are min/max.
 */
export function accumulate(evidence: Evidence | undefined, observations: Observation[]): Evidence {
  const out: Evidence = evidence
    ? {
        ...evidence,
        detections: evidence.detections.map((d) => ({ ...d, samples: [...d.samples], ...(d.containers ? { containers: [...d.containers] } : {}) })),
        egress: [...evidence.egress],
      }
    : { count: 0, firstSeen: observations[0]?.at ?? '', lastSeen: observations[0]?.at ?? '', detections: [], egress: [] };
  const seenEgress = new Map(out.egress.map((e) => [egressKey(e), e]));
  for (const o of observations) {
    out.count++;
    if (!out.firstSeen || o.at < out.firstSeen) out.firstSeen = o.at;
    if (o.at > out.lastSeen) out.lastSeen = o.at;
    let d = out.detections.find((x) => x.rule === o.detection);
    if (!d) {
      d = { rule: o.detection, tool: o.tool, count: 0, firstSeen: o.at, lastSeen: o.at, samples: [] };
      out.detections.push(d);
    }
    d.count++;
    if (o.at < d.firstSeen) d.firstSeen = o.at;
    if (o.at > d.lastSeen) d.lastSeen = o.at;
    if (o.sample && !d.samples.includes(o.sample) && d.samples.length < SAMPLE_LIMIT) d.samples.push(o.sample);
    // Max, any-runtime and the smallest container names: the same whatever order observations come in.
    if (o.severity && (!d.severity || severityRank(o.severity) > severityRank(d.severity))) d.severity = o.severity;
    if (o.stage) d.stage = d.count === 1 ? o.stage : d.stage !== 'deploy' || o.stage === 'runtime' ? 'runtime' : 'deploy';
    if (o.container && !d.containers?.includes(o.container)) d.containers = [...(d.containers ?? []), o.container].sort().slice(0, CONTAINER_LIMIT);
    if (o.egress) {
      const known = seenEgress.get(egressKey(o.egress));
      if (known) known.denied ||= o.egress.denied;
      else if (seenEgress.size < EGRESS_LIMIT) seenEgress.set(egressKey(o.egress), { ...o.egress });
    }
  }
  out.egress = [...seenEgress.values()];
  out.detections.sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule));
  return out;
}
