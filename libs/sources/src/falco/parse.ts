import { behaviourOf, normalizeWorkload, toFinding, type Artifact, type Batch, type Finding, type Severity, type Workload } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { clusterOf } from '../kubernetes/object';
import { parseImageRef } from '../common/image-ref';
import { jsonLines } from './json-lines';

// Falco's JSON output (json_output: true; falcosecurity/falco userspace/falco/outputs) and the payload
// falcosidekick forwards (falcosecurity/falcosidekick types.FalcoPayload: the same fields plus `uuid`).
// Falco writes one event per line; a file or a batch of several is newline-delimited.
const PRIORITY: Record<string, Severity> = {
  emergency: 'critical',
  alert: 'critical',
  critical: 'critical',
  error: 'high',
  warning: 'medium',
  notice: 'low',
  informational: 'low',
  info: 'low',
  debug: 'info',
};

const eventSchema = z
  .object({
    uuid: z.string().optional(),
    output: z.string(),
    priority: z.string().refine(
      (p) => p.toLowerCase() in PRIORITY,
      (p) => ({
        message: `unknown priority "${p}"; one of Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug`,
      }),
    ),
    rule: z.string().min(1),
    time: z.string().optional(),
    output_fields: z.record(z.unknown()).nullish(),
    source: z.string().optional(),
    tags: z.array(z.string()).nullish(),
    hostname: z.string().optional(),
  })
  .passthrough();

type FalcoEvent = z.infer<typeof eventSchema>;

/** Falcosidekick's `/test` endpoint sends this; it says the pipe works, not that something happened. */
const isSidekickTest = (e: FalcoEvent) => e.rule === 'Test rule' && e.output.includes('This is a test from falcosidekick');

const text = (fields: Record<string, unknown>, key: string): string | undefined => {
  const value = fields[key];
  return typeof value === 'string' && value !== '' && value !== '<NA>' ? value : undefined;
};

function artifactOf(fields: Record<string, unknown>): Artifact | undefined {
  const repository = text(fields, 'container.image.repository');
  if (!repository) return undefined;
  const ref = parseImageRef(repository);
  return {
    registry: ref.registry,
    repository: ref.repository,
    tag: text(fields, 'container.image.tag') ?? ref.tag,
    digest: text(fields, 'container.image.digest') ?? ref.digest,
  };
}

/** The workload: Falco names the namespace and pod; the Deployment only when its old k8s fields are on. */
function workloadOf(fields: Record<string, unknown>, meta: SourceMeta): { workload?: Workload; derived?: string } {
  const namespace = text(fields, 'k8s.ns.name');
  const pod = text(fields, 'k8s.pod.name');
  const container = text(fields, 'container.name');
  if (!namespace && !pod) return {};
  const deployment = text(fields, 'k8s.deployment.name');
  return normalizeWorkload({
    cluster: clusterOf(meta),
    namespace,
    kind: deployment ? 'Deployment' : pod ? 'Pod' : undefined,
    name: deployment ?? pod,
    pod,
    container,
  });
}

function finding(event: FalcoEvent, meta: SourceMeta): Finding {
  const fields = event.output_fields ?? {};
  const { workload, derived } = workloadOf(fields, meta);
  const where = workload?.namespace ? ` in ${workload.namespace}/${workload.name ?? ''}` : event.hostname ? ` on ${event.hostname}` : '';
  return toFinding({
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'falco', integration: meta.integration, eventId: meta.eventId },
    title: `${event.rule}${where}`,
    description: event.output,
    severity: PRIORITY[event.priority.toLowerCase()],
    toolSeverity: event.priority,
    rule: { id: event.rule, name: event.rule, tags: event.tags ?? [] },
    behaviour: behaviourOf({ rule: event.rule }),
    artifact: artifactOf(fields),
    workload,
    fixable: false,
    observedAt: event.time ?? meta.receivedAt,
    labels: {
      ...(event.source ? { 'falco.source': event.source } : {}),
      ...(event.hostname ? { hostname: event.hostname } : {}),
      ...(derived ? { 'workload.derived': derived } : {}),
    },
    raw: {
      output: event.output,
      priority: event.priority,
      rule: event.rule,
      time: event.time,
      hostname: event.hostname,
      source: event.source,
      uuid: event.uuid,
      tags: event.tags ?? [],
      ...fields,
    },
  });
}

function parse(raw: string, meta: SourceMeta): Batch {
  const events = jsonLines(raw).map(({ value, path }) => {
    if (!isObject(value)) throw new ParseError('a Falco event is a JSON object', path || undefined);
    return validateAt(eventSchema, value, path);
  });
  const real = events.filter((e) => !isSidekickTest(e));
  if (real.length === 0) throw new IgnoredInput(events.length ? 'falcosidekick test event' : 'no Falco events');
  return { findings: real.map((e) => finding(e, meta)), assets: [], scopes: [] };
}

export const falcoParser: SourceParser = {
  format: 'falco',
  detect(document: unknown): boolean {
    return isObject(document) && typeof document.rule === 'string' && typeof document.priority === 'string' && 'output' in document;
  },
  parse,
};
