import { createHash } from 'node:crypto';
import { normalizeSeverity, normalizeWorkload, toFinding, type Batch, type Finding, type Workload } from '@klaxon/findings';
import { z } from 'zod';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { parseImageRef } from '../common/image-ref';

// Alertmanager's webhook payload, version 4 (prometheus/alertmanager notify/webhook: Message over
// template.Data). Any Prometheus-based detector (kube-state-metrics rules, Falco exporter, …) arrives here.
const alertSchema = z
  .object({
    status: z.enum(['firing', 'resolved']),
    labels: z.record(z.string()),
    annotations: z.record(z.string()).nullish(),
    startsAt: z.string().optional(),
    endsAt: z.string().optional(),
    generatorURL: z.string().optional(),
    fingerprint: z.string().optional(),
  })
  .passthrough();

const payloadSchema = z
  .object({
    version: z.literal('4', { errorMap: () => ({ message: 'Klaxon reads Alertmanager webhook version "4"' }) }),
    groupKey: z.string().optional(),
    truncatedAlerts: z.number().optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().optional(),
    groupLabels: z.record(z.string()).nullish(),
    commonLabels: z.record(z.string()).nullish(),
    commonAnnotations: z.record(z.string()).nullish(),
    externalURL: z.string().optional(),
    alerts: z.array(alertSchema),
  })
  .passthrough();

type Alert = z.infer<typeof alertSchema>;

/** Labels kube-state-metrics and the usual alerting rules use to name the workload. */
const WORKLOAD_LABELS: [string, string][] = [
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['job_name', 'Job'],
  ['cronjob', 'CronJob'],
];

/** Alertmanager's own fingerprint when given; older releases omit it: then a hash of the sorted labels. */
function alertKey(alert: Alert): string {
  if (alert.fingerprint) return alert.fingerprint;
  const labels = Object.entries(alert.labels).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(labels)).digest('hex').slice(0, 16);
}

/**
 * Alertmanager sends a group's whole state each time (every alert of the aggregation group, firing or
 * just resolved), so one payload is complete for its group: a firing alert that resolved or left the group
 * resolves its finding. One scope per input also matters because triage fills a scope with every finding
 * of its kinds in the batch. A truncated payload (`max_alerts`) is not complete and declares none.
 */
export function groupScopeKey(receiver: string | undefined, groupKey: string): string {
  return `alertmanager:${receiver ?? ''}/${groupKey}`;
}

function workloadOf(labels: Record<string, string>): { workload?: Workload; derived?: string } {
  const namespace = labels.namespace || labels.exported_namespace;
  const pod = labels.pod || labels.exported_pod;
  const named = WORKLOAD_LABELS.find(([label]) => labels[label]);
  if (!namespace && !pod && !named) return {};
  return normalizeWorkload({
    cluster: labels.cluster || undefined,
    namespace,
    kind: named ? named[1] : pod ? 'Pod' : undefined,
    name: named ? labels[named[0]] : pod,
    pod,
    container: labels.container || undefined,
  });
}

function finding(alert: Alert, externalURL: string | undefined, meta: SourceMeta): Finding {
  const labels = alert.labels;
  const annotations = alert.annotations ?? {};
  const alertname = labels.alertname ?? 'alert';
  const { workload, derived } = workloadOf(labels);
  const image = labels.image ? parseImageRef(labels.image) : undefined;
  const runbook = annotations.runbook_url;
  return toFinding({
    kind: 'runtime',
    stage: 'runtime',
    source: { tool: 'alertmanager', integration: meta.integration, eventId: meta.eventId },
    title: annotations.summary ?? (workload?.name ? `${alertname} on ${workload.namespace ?? ''}/${workload.name}` : alertname),
    description: annotations.description ?? annotations.message,
    severity: normalizeSeverity(labels.severity),
    toolSeverity: labels.severity,
    rule: { id: alertname, name: alertname, references: [runbook, alert.generatorURL].filter((r): r is string => !!r) },
    artifact: image ? { registry: image.registry, repository: image.repository, tag: image.tag, digest: image.digest } : undefined,
    workload,
    fixable: false,
    remediation: runbook ? `Runbook: ${runbook}` : undefined,
    observedAt: alert.startsAt ?? meta.receivedAt,
    labels: {
      ...labels,
      'alertmanager.fingerprint': alertKey(alert),
      ...(derived ? { 'workload.derived': derived } : {}),
    },
    raw: { annotations, startsAt: alert.startsAt, generatorURL: alert.generatorURL, externalURL },
  });
}

function parse(raw: string, meta: SourceMeta): Batch {
  const document = parseJson(raw);
  if (!isObject(document)) throw new ParseError('an Alertmanager webhook body is a JSON object');
  const payload = validateAt(payloadSchema, document, '');
  const complete = !!payload.groupKey && !payload.truncatedAlerts;
  return {
    findings: payload.alerts.filter((a) => a.status === 'firing').map((a) => finding(a, payload.externalURL, meta)),
    assets: [],
    scopes: complete ? [{ key: groupScopeKey(payload.receiver, payload.groupKey!), kinds: ['runtime'] }] : [],
  };
}

export const alertmanagerParser: SourceParser = {
  format: 'alertmanager',
  detect(document: unknown): boolean {
    return isObject(document) && typeof document.version === 'string' && Array.isArray(document.alerts) && 'groupKey' in document;
  },
  parse,
};
