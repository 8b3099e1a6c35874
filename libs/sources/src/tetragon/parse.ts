import {
  behaviourOf,
  normalizeWorkload,
  toFinding,
  type Behaviour,
  type Artifact,
  type Batch,
  type Finding,
  type Severity,
  type Workload,
} from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { jsonLines } from '../falco/json-lines';
import { digestOf } from '../kubernetes/parse';
import { parseImageRef } from '../common/image-ref';

// Tetragon's JSON export (cilium/tetragon api/v1/tetragon: GetEventsResponse with one event field set,
// protojson names): `{"process_exec": {...}, "node_name": ..., "time": ...}`, one per line.
const READ_EVENTS = ['process_exec', 'process_kprobe'] as const;
/** Event fields Tetragon sets; anything else in an object with one of these is ignored, not an error. */
const KNOWN_EVENTS = [
  ...READ_EVENTS,
  'process_exit',
  'process_tracepoint',
  'process_uprobe',
  'process_lsm',
  'process_usdt',
  'process_loader',
  'process_throttle',
  'rate_limit_info',
  'test',
];
/** Kprobe actions that mean Tetragon acted (killed, overrode a return) rather than observed. */
const ENFORCING_ACTIONS = new Set(['KPROBE_ACTION_SIGKILL', 'KPROBE_ACTION_OVERRIDE', 'KPROBE_ACTION_NOTIFYENFORCER']);

const imageSchema = z.object({ id: z.string().optional(), name: z.string().optional() }).passthrough();
const podSchema = z
  .object({
    namespace: z.string().optional(),
    name: z.string().optional(),
    container: z.object({ id: z.string().optional(), name: z.string().optional(), image: imageSchema.nullish() }).passthrough().nullish(),
    pod_labels: z.record(z.string()).nullish(),
    workload: z.string().optional(),
    workload_kind: z.string().optional(),
  })
  .passthrough();

const processSchema = z
  .object({
    exec_id: z.string().optional(),
    pid: z.number().optional(),
    uid: z.number().optional(),
    cwd: z.string().optional(),
    binary: z.string().min(1),
    arguments: z.string().optional(),
    flags: z.string().optional(),
    start_time: z.string().optional(),
    pod: podSchema.nullish(),
    parent_exec_id: z.string().optional(),
  })
  .passthrough();

const parentSchema = z.object({ binary: z.string().optional(), arguments: z.string().optional() }).passthrough().nullish();

const execSchema = z.object({ process: processSchema, parent: parentSchema }).passthrough();
const kprobeSchema = z
  .object({
    process: processSchema,
    parent: parentSchema,
    function_name: z.string().min(1),
    args: z.array(z.record(z.unknown())).nullish(),
    action: z.string().optional(),
    policy_name: z.string().optional(),
    message: z.string().optional(),
    tags: z.array(z.string()).nullish(),
  })
  .passthrough();

const envelopeSchema = z.object({ node_name: z.string().optional(), time: z.string().optional(), cluster_name: z.string().optional() }).passthrough();

type Process = z.infer<typeof processSchema>;
type Kprobe = z.infer<typeof kprobeSchema>;
type Envelope = z.infer<typeof envelopeSchema>;

function artifactOf(process: Process): Artifact | undefined {
  const image = process.pod?.container?.image;
  if (!image?.name) return undefined;
  const ref = parseImageRef(image.name);
  return { registry: ref.registry, repository: ref.repository, tag: ref.tag, digest: digestOf(image.id) ?? ref.digest };
}

function workloadOf(process: Process, envelope: Envelope): { workload?: Workload; derived?: string } {
  const pod = process.pod;
  if (!pod?.namespace && !pod?.name) return {};
  return normalizeWorkload({
    cluster: envelope.cluster_name,
    namespace: pod.namespace,
    kind: pod.workload ? pod.workload_kind : 'Pod',
    name: pod.workload ?? pod.name,
    pod: pod.name,
    container: pod.container?.name,
  });
}

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1) || path;

function finding(
  envelope: Envelope,
  process: Process,
  parent: { binary?: string } | null | undefined,
  rule: { id: string; name: string; tags?: string[] },
  title: string,
  severity: Severity,
  meta: SourceMeta,
  extra: Record<string, unknown>,
  behaviour?: Behaviour,
): Finding {
  const { workload, derived } = workloadOf(process, envelope);
  return toFinding({
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'tetragon', integration: meta.integration, eventId: meta.eventId },
    title: workload ? `${title} in ${workload.namespace ?? ''}/${workload.name ?? ''}` : envelope.node_name ? `${title} on ${envelope.node_name}` : title,
    severity,
    rule,
    behaviour,
    artifact: artifactOf(process),
    workload,
    fixable: false,
    observedAt: envelope.time ?? meta.receivedAt,
    labels: {
      ...(envelope.node_name ? { node: envelope.node_name } : {}),
      ...(derived ? { 'workload.derived': derived } : {}),
    },
    raw: {
      binary: process.binary,
      arguments: process.arguments,
      cwd: process.cwd,
      uid: process.uid,
      exec_id: process.exec_id,
      'parent.binary': parent?.binary,
      node_name: envelope.node_name,
      time: envelope.time,
      ...extra,
    },
  });
}

function execFinding(value: unknown, path: string, envelope: Envelope, meta: SourceMeta): Finding {
  const { process, parent } = validateAt(execSchema, value, path);
  // An exec is an observation, not an alarm: one finding per binary and workload, so a new binary stands out.
  return finding(
    envelope,
    process,
    parent,
    { id: `process_exec:${process.binary}`, name: `${basename(process.binary)} executed`, tags: ['process_exec'] },
    `${basename(process.binary)} executed`,
    'low',
    meta,
    { event: 'process_exec' },
    behaviourOf({ binary: process.binary }),
  );
}

/** MAY_WRITE and MAY_READ of the mask security_file_permission gets (include/linux/fs.h). */
const MAY_WRITE = 0x2;
const MAY_READ = 0x4;

/**
 * The file a kprobe saw a process open, and how: Tetragon's file-monitoring policies hook
 * security_file_permission(file, mask), whose args come as a file_arg and an int_arg.
 */
function fileAccessed(k: Kprobe): { path: string; access: 'read' | 'write' } | undefined {
  if (k.function_name !== 'security_file_permission') return undefined;
  const path = k.args?.map((a) => (a.file_arg as { path?: unknown } | undefined)?.path).find((p): p is string => typeof p === 'string');
  const mask = k.args?.map((a) => a.int_arg).find((m): m is number => typeof m === 'number');
  if (!path || mask === undefined) return undefined;
  if (mask & MAY_WRITE) return { path, access: 'write' };
  return mask & MAY_READ ? { path, access: 'read' } : undefined;
}

function kprobeFinding(value: unknown, path: string, envelope: Envelope, meta: SourceMeta): Finding {
  const k: Kprobe = validateAt(kprobeSchema, value, path);
  const id = k.policy_name ? `${k.policy_name}/${k.function_name}` : `kprobe:${k.function_name}`;
  const enforced = !!k.action && ENFORCING_ACTIONS.has(k.action);
  return finding(
    envelope,
    k.process,
    k.parent,
    { id, name: k.policy_name ?? k.function_name, tags: [...(k.tags ?? []), 'process_kprobe'] },
    k.message ?? `${basename(k.process.binary)} called ${k.function_name}`,
    enforced ? 'high' : 'medium',
    meta,
    { event: 'process_kprobe', function_name: k.function_name, policy_name: k.policy_name, action: k.action, args: k.args ?? [], message: k.message },
    behaviourOf({ file: fileAccessed(k) }),
  );
}

function parse(raw: string, meta: SourceMeta): Batch {
  const findings: Finding[] = [];
  const ignored = new Set<string>();
  for (const { value, path } of jsonLines(raw)) {
    if (!isObject(value)) throw new ParseError('a Tetragon event is a JSON object', path || undefined);
    const envelope = validateAt(envelopeSchema, value, path);
    const at = (field: string) => (path ? `${path}.${field}` : field);
    const type = KNOWN_EVENTS.find((e) => e in value) ?? Object.keys(value).find((k) => k.startsWith('process_'));
    if (type === 'process_exec') findings.push(execFinding(value.process_exec, at('process_exec'), envelope, meta));
    else if (type === 'process_kprobe') findings.push(kprobeFinding(value.process_kprobe, at('process_kprobe'), envelope, meta));
    else ignored.add(type ?? 'unknown');
  }
  if (findings.length === 0) throw new IgnoredInput(`Tetragon ${[...ignored].join(', ')} events are not read by Klaxon`);
  return { findings, assets: [], scopes: [] };
}

export const tetragonParser: SourceParser = {
  format: 'tetragon',
  detect(document: unknown): boolean {
    return isObject(document) && READ_EVENTS.some((e) => isObject(document[e])) && ('node_name' in document || 'time' in document);
  },
  parse,
};
