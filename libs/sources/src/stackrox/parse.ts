import { behaviourOf, normalizeSeverity, toFinding, type Artifact, type Batch, type Finding, type FindingKind, type Stage } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';

// StackRox / Red Hat ACS generic webhook: `{"alert": <storage.Alert>, ...custom fields}` (stackrox/stackrox
// proto/storage/alert.proto, written by protojson: camelCase names, enums as their names). The audit-log
// webhook sends `{"audit": ...}` to the same kind of endpoint; it carries no finding.
// protojson leaves out a field at its zero value, so an enum at its first value is absent, not null:
// lifecycleStage DEPLOY, policy.severity UNSET_SEVERITY, state ACTIVE, enforcement.action UNSET_ENFORCEMENT, and
// an empty string (a violation's message when it carries only key-value attributes)
// (proto/storage/policy.proto, alert.proto). Absent is read as that value.
const imageNameSchema = z
  .object({ registry: z.string().optional(), remote: z.string().optional(), tag: z.string().optional(), fullName: z.string().optional() })
  .passthrough();
const containerSchema = z
  .object({ name: z.string().optional(), image: z.object({ id: z.string().optional(), name: imageNameSchema.nullish() }).passthrough().nullish() })
  .passthrough();

const alertSchema = z
  .object({
    id: z.string().min(1),
    policy: z
      .object({
        id: z.string().optional(),
        name: z.string().min(1),
        description: z.string().optional(),
        rationale: z.string().optional(),
        remediation: z.string().optional(),
        categories: z.array(z.string()).nullish(),
        lifecycleStages: z.array(z.string()).nullish(),
        severity: z.string().optional(),
      })
      .passthrough(),
    lifecycleStage: z.enum(['DEPLOY', 'BUILD', 'RUNTIME']).default('DEPLOY'),
    clusterName: z.string().optional(),
    namespace: z.string().optional(),
    deployment: z
      .object({
        id: z.string().optional(),
        name: z.string().min(1),
        type: z.string().optional(),
        namespace: z.string().optional(),
        clusterName: z.string().optional(),
        containers: z.array(containerSchema).nullish(),
      })
      .passthrough()
      .nullish(),
    image: z.object({ id: z.string().optional(), name: imageNameSchema.nullish() }).passthrough().nullish(),
    violations: z.array(z.object({ message: z.string().optional() }).passthrough()).nullish(),
    processViolation: z
      .object({
        message: z.string().optional(),
        processes: z
          .array(
            z
              .object({
                containerName: z.string().optional(),
                signal: z.object({ name: z.string().optional(), execFilePath: z.string().optional(), args: z.string().optional() }).passthrough().nullish(),
              })
              .passthrough(),
          )
          .nullish(),
      })
      .passthrough()
      .nullish(),
    enforcement: z.object({ action: z.string().optional(), message: z.string().optional() }).passthrough().nullish(),
    time: z.string().optional(),
    firstOccurred: z.string().optional(),
    state: z.string().optional(),
  })
  .passthrough();

type Alert = z.infer<typeof alertSchema>;
type ImageName = z.infer<typeof imageNameSchema>;

/** `CRITICAL_SEVERITY` → `critical`; `UNSET_SEVERITY` → info. */
function severityOf(word: string | undefined) {
  return normalizeSeverity(word?.replace(/_SEVERITY$/, ''));
}

const STAGE: Record<Alert['lifecycleStage'], { kind: FindingKind; stage: Stage }> = {
  RUNTIME: { kind: 'runtime', stage: 'runtime' },
  DEPLOY: { kind: 'policy', stage: 'deploy' },
  BUILD: { kind: 'policy', stage: 'build' },
};

/** One alert is complete for itself: a RESOLVED state (or a later alert without it) resolves its finding. */
export function stackroxScopeKey(alertId: string): string {
  return `stackrox:alert:${alertId}`;
}

function artifactOf(name: ImageName | null | undefined, id: string | undefined): Artifact | undefined {
  if (!name?.remote && !id) return undefined;
  return { registry: name?.registry || undefined, repository: name?.remote || undefined, tag: name?.tag || undefined, digest: id || undefined };
}

/** The image of the container that misbehaved (runtime), else the first container's. */
function imageOf(alert: Alert): Artifact | undefined {
  if (alert.image) return artifactOf(alert.image.name, alert.image.id);
  const containers = alert.deployment?.containers ?? [];
  const named = alert.processViolation?.processes?.[0]?.containerName;
  const container = containers.find((c) => c.name === named) ?? containers[0];
  return container?.image ? artifactOf(container.image.name, container.image.id) : undefined;
}

function finding(alert: Alert, meta: SourceMeta): Finding {
  const { kind, stage } = STAGE[alert.lifecycleStage];
  const d = alert.deployment;
  const namespace = d?.namespace ?? alert.namespace;
  const messages = [alert.processViolation?.message, ...(alert.violations ?? []).map((v) => v.message)].filter((m): m is string => !!m);
  const where = d ? ` in ${namespace ?? ''}/${d.name}` : '';
  return toFinding({
    kind,
    stage,
    source: { tool: 'stackrox', integration: meta.integration, eventId: meta.eventId },
    title: `${alert.policy.name}${where}`,
    description: [alert.policy.description, ...messages].filter(Boolean).join('\n') || undefined,
    severity: severityOf(alert.policy.severity),
    toolSeverity: alert.policy.severity,
    rule: { id: alert.policy.name, name: alert.policy.name, tags: alert.policy.categories ?? [] },
    behaviour: kind === 'runtime' ? behaviourOf({ rule: alert.policy.name }) : undefined,
    artifact: imageOf(alert),
    workload: d
      ? {
          cluster: d.clusterName ?? alert.clusterName,
          namespace,
          kind: d.type,
          name: d.name,
          container: alert.processViolation?.processes?.[0]?.containerName,
        }
      : undefined,
    // Deploy- and build-time violations are fixed in the manifest or image; a runtime one is an event.
    fixable: kind !== 'runtime',
    remediation: alert.policy.remediation,
    observedAt: alert.time ?? alert.firstOccurred ?? meta.receivedAt,
    labels: { lifecycleStage: alert.lifecycleStage, ...(alert.state ? { 'stackrox.state': alert.state } : {}) },
    raw: {
      alertId: alert.id,
      policyId: alert.policy.id,
      rationale: alert.policy.rationale,
      violations: messages,
      processes: (alert.processViolation?.processes ?? []).map((p) => ({
        containerName: p.containerName,
        name: p.signal?.name,
        execFilePath: p.signal?.execFilePath,
        args: p.signal?.args,
      })),
      enforcement: alert.enforcement ?? undefined,
      firstOccurred: alert.firstOccurred,
    },
  });
}

function parse(raw: string, meta: SourceMeta): Batch {
  const document = parseJson(raw);
  if (!isObject(document)) throw new ParseError('a StackRox webhook body is a JSON object');
  if (!('alert' in document)) {
    if ('audit' in document) throw new IgnoredInput('StackRox audit log message');
    throw new ParseError('required', 'alert');
  }
  const alert = validateAt(alertSchema, document.alert, 'alert');
  const scope = { key: stackroxScopeKey(alert.id), kinds: [STAGE[alert.lifecycleStage].kind] };
  if (alert.state === 'RESOLVED') return { findings: [], assets: [], scopes: [scope] };
  return { findings: [finding(alert, meta)], assets: [], scopes: [scope] };
}

export const stackroxParser: SourceParser = {
  format: 'stackrox',
  detect(document: unknown): boolean {
    return isObject(document) && isObject(document.alert) && isObject(document.alert.policy) && typeof document.alert.id === 'string';
  },
  parse,
};
