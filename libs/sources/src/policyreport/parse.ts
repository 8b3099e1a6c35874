import { normalizeSeverity, toFinding, type Batch, type ControlResult, type Finding, type Scope, type Severity } from '@klaxon/findings';
import { z } from 'zod';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { clusterOf, itemsOf, resourcePath, typeOf, type KubernetesItem, type ResourceRef } from '../kubernetes/object';

// The wg-policy PolicyReport and ClusterPolicyReport (kubernetes-sigs/wg-policy-prototypes,
// policy-report/apis/wgpolicyk8s.io/{v1alpha2,v1beta1}), as Kyverno and other engines write them.
const GROUP = 'wgpolicyk8s.io';
const VERSIONS = ['v1alpha2', 'v1beta1'];
const KINDS = ['PolicyReport', 'ClusterPolicyReport'];
/** Results that mean "this resource violates the rule"; pass and skip say it does not (or was not checked). */
const FAILING = new Set(['fail', 'warn', 'error']);

const objectReferenceSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    uid: z.string().optional(),
  })
  .passthrough();

const resultSchema = z
  .object({
    source: z.string().optional(),
    policy: z.string().min(1),
    rule: z.string().optional(),
    category: z.string().optional(),
    // v1alpha2 knows high|medium|low; v1beta1 adds critical|info. Other words are kept as the tool's own.
    severity: z.string().optional(),
    timestamp: z.object({ seconds: z.coerce.number(), nanos: z.coerce.number().optional() }).passthrough().optional(),
    result: z.enum(['pass', 'fail', 'warn', 'error', 'skip']),
    scored: z.boolean().optional(),
    resources: z.array(objectReferenceSchema).nullish(),
    message: z.string().optional(),
    properties: z.record(z.string()).nullish(),
  })
  .passthrough();

const reportSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z
      .object({ name: z.string().optional(), namespace: z.string().optional(), labels: z.record(z.string()).nullish() })
      .passthrough()
      .default({}),
    source: z.string().optional(),
    scope: objectReferenceSchema.nullish(),
    results: z.array(resultSchema).nullish(),
  })
  .passthrough();

type Report = z.infer<typeof reportSchema>;
type Result = z.infer<typeof resultSchema>;
type ObjectReference = z.infer<typeof objectReferenceSchema>;

function isPolicyReport(object: unknown): boolean {
  const { apiVersion, kind } = typeOf(object);
  return !!apiVersion?.startsWith(`${GROUP}/`) && !!kind && KINDS.includes(kind);
}

function validate(item: KubernetesItem): Report {
  const { apiVersion, kind } = typeOf(item.object);
  const at = (field: string) => (item.path ? `${item.path}.${field}` : field);
  if (!isObject(item.object)) throw new ParseError('expected a PolicyReport object', item.path || undefined);
  if (!kind || !KINDS.includes(kind)) {
    throw new ParseError(`expected one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`, at('kind'));
  }
  const [group, version] = (apiVersion ?? '').split('/');
  if (group !== GROUP || !VERSIONS.includes(version)) {
    throw new ParseError(
      `unsupported apiVersion ${JSON.stringify(apiVersion)}; Klaxon reads ${VERSIONS.map((v) => `${GROUP}/${v}`).join(', ')}`,
      at('apiVersion'),
    );
  }
  return validateAt(reportSchema, item.object, item.path);
}

/** The resources one result is about: its own list, else the report's scope (Kyverno ≥ 1.10 writes one report per resource). */
function resourcesOf(result: Result, report: Report, cluster: string | undefined): ResourceRef[] {
  return asResources(result.resources?.length ? result.resources : report.scope ? [report.scope] : [], report, cluster);
}

function asResources(refs: ObjectReference[], report: Report, cluster: string | undefined): ResourceRef[] {
  return refs
    .filter((r): r is ObjectReference & { kind: string; name: string } => !!r.kind && !!r.name)
    .map((r) => ({
      cluster,
      // A ClusterPolicyReport's resources are cluster-scoped; a namespaced report's default to its namespace.
      namespace: r.namespace ?? (report.kind === 'PolicyReport' ? report.metadata.namespace : undefined),
      kind: r.kind,
      name: r.name,
    }));
}

function sourceOf(result: Result, report: Report): string {
  return result.source || report.source || 'policyreport';
}

/**
 * Per resource and report source, the report is complete: a result that turns pass (or disappears)
 * resolves the finding. The source is part of the key so that two engines reporting on one resource
 * (Kyverno and a kube-bench adapter) do not resolve each other's findings. Triage fills a scope with
 * every finding of its kinds in the batch, so in a namespace-wide report (v1alpha2, several resources)
 * each resource's scope holds the whole report's findings, and a resource dropped from the report
 * resolves through the scopes of the others.
 */
export function policyScopeKey(ref: ResourceRef, source: string): string {
  return `resource:${resourcePath(ref)}#policy:${source}`;
}

function severityOf(result: Result): Severity {
  if (result.severity) return normalizeSeverity(result.severity);
  // Engines that leave severity out still mean a fail more than a warn.
  return result.result === 'warn' ? 'low' : 'medium';
}

function observedAt(result: Result, meta: SourceMeta): string {
  const at = result.timestamp ? new Date(result.timestamp.seconds * 1000) : undefined;
  // A time past what a Date can hold (±8.64e15 ms) is no time: the report's arrival stands in for it.
  return at && Number.isFinite(at.getTime()) ? at.toISOString() : meta.receivedAt;
}

function finding(result: Result, report: Report, resource: ResourceRef, meta: SourceMeta): Finding {
  const source = sourceOf(result, report);
  const ruleId = result.rule ? `${result.policy}/${result.rule}` : result.policy;
  const where = `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ''}${resource.name}`;
  return toFinding({
    kind: 'policy',
    stage: 'deploy',
    source: { tool: source, integration: meta.integration, eventId: meta.eventId },
    title: `${ruleId} ${result.result === 'warn' ? 'warns on' : result.result === 'error' ? 'errored on' : 'fails on'} ${where}`,
    description: result.message,
    severity: severityOf(result),
    toolSeverity: result.severity,
    rule: { id: ruleId, name: result.policy, tags: result.category ? [result.category] : undefined },
    workload: { cluster: resource.cluster, namespace: resource.namespace, kind: resource.kind, name: resource.name },
    fixable: true,
    remediation: result.message,
    observedAt: observedAt(result, meta),
    labels: {
      result: result.result,
      ...(result.category ? { category: result.category } : {}),
      ...(result.scored === undefined ? {} : { scored: String(result.scored) }),
    },
    raw: {
      policy: result.policy,
      rule: result.rule,
      result: result.result,
      message: result.message,
      category: result.category,
      scored: result.scored,
      properties: result.properties ?? undefined,
      report: report.metadata.name,
    },
  });
}

/**
 * Kyverno's Pod Security Standards policies carry the category `Pod Security Standards (Baseline)` or
 * `(Restricted)` (kyverno/policies, pod-security/): each policy is a control of that standard, judged
 * per namespace from every resource the report covers.
 */
function standardOf(category: string | undefined): ControlResult['standard'] | undefined {
  const level = /^pod security standards?\s*\((baseline|restricted)\)/i.exec(category?.trim() ?? '');
  if (!level) return undefined;
  const name = level[1].toLowerCase();
  return { id: `pss-${name}`, title: `Pod Security Standards (${name === 'baseline' ? 'Baseline' : 'Restricted'})` };
}

function countControl(controls: Map<string, ControlResult>, result: Result, resource: ResourceRef, raised: Finding | undefined, meta: SourceMeta): void {
  const standard = standardOf(result.category);
  if (!standard || result.result === 'skip') return;
  const key = [standard.id, result.policy, resource.cluster ?? '', resource.namespace ?? ''].join('\n');
  const control = controls.get(key) ?? {
    standard,
    control: { id: result.policy, title: result.policy },
    cluster: resource.cluster,
    namespace: resource.namespace,
    status: 'pass' as const,
    passed: 0,
    failed: 0,
    findings: [],
    observedAt: observedAt(result, meta),
  };
  if (raised) {
    control.failed++;
    control.status = 'fail';
    control.findings.push(raised.fingerprint);
    control.remediation ??= result.message;
    control.control.severity = raised.severity;
  } else control.passed++;
  if (observedAt(result, meta) > control.observedAt) control.observedAt = observedAt(result, meta);
  controls.set(key, control);
}

function parseReport(report: Report, deleted: boolean, meta: SourceMeta): Batch {
  const cluster = clusterOf(meta);
  const findings: Finding[] = [];
  const scopes = new Map<string, Scope>();
  const addScope = (ref: ResourceRef, source: string) => {
    const key = policyScopeKey(ref, source);
    scopes.set(key, { key, kinds: ['policy'] });
  };
  const controls = new Map<string, ControlResult>();
  for (const result of report.results ?? []) {
    const source = sourceOf(result, report);
    for (const resource of resourcesOf(result, report, cluster)) {
      addScope(resource, source);
      const raised = !deleted && FAILING.has(result.result) ? finding(result, report, resource, meta) : undefined;
      if (raised) findings.push(raised);
      if (!deleted) countControl(controls, result, resource, raised, meta);
    }
  }
  // A report with no results yet still speaks for its scope resource: nothing fails there.
  if (report.scope?.kind && report.scope.name && (report.results ?? []).length === 0) {
    for (const resource of asResources([report.scope], report, cluster)) addScope(resource, report.source || 'policyreport');
  }
  return { findings, assets: [], scopes: [...scopes.values()], controls: [...controls.values()] };
}

function parse(raw: string, meta: SourceMeta): Batch {
  const items = itemsOf(parseJson(raw));
  const batch: Batch = { findings: [], assets: [], scopes: [] };
  for (const item of items) {
    const part = parseReport(validate(item), item.deleted, meta);
    batch.findings.push(...part.findings);
    batch.scopes.push(...part.scopes);
    if (part.controls?.length) (batch.controls ??= []).push(...part.controls);
  }
  return batch;
}

export const policyReportParser: SourceParser = {
  format: 'policyreport',
  readsYaml: true,
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    if (Array.isArray(document.items)) return document.items.length > 0 && document.items.every(isPolicyReport);
    return isPolicyReport(document);
  },
  parse,
};
