import { normalizeSeverity, toFinding, type Artifact, type Asset, type Batch, type ControlResult, type Finding, type Workload } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { clusterOf, itemsOf, resourcePath, typeOf, type KubernetesItem, type ResourceRef } from '../kubernetes/object';

// Trivy Operator's reports (aquasecurity/trivy-operator, pkg/apis/aquasecurity/v1alpha1:
// vulnerability_types.go, config_audit_types.go). The scanned workload is named by labels, not fields.
const API_VERSION = 'aquasecurity.github.io/v1alpha1';
const VULNERABILITY_KINDS = ['VulnerabilityReport', 'ClusterVulnerabilityReport'];
const CONFIG_AUDIT_KINDS = ['ConfigAuditReport', 'ClusterConfigAuditReport'];
const COMPLIANCE_KIND = 'ClusterComplianceReport';
const LABEL = {
  kind: 'trivy-operator.resource.kind',
  name: 'trivy-operator.resource.name',
  namespace: 'trivy-operator.resource.namespace',
  container: 'trivy-operator.container.name',
} as const;
const TOOL = 'trivy-operator';

const metadataSchema = z
  .object({ name: z.string().optional(), namespace: z.string().optional(), labels: z.record(z.string()).nullish() })
  .passthrough()
  .default({});

const scannerSchema = z.object({ name: z.string().optional(), vendor: z.string().optional(), version: z.string().optional() }).passthrough();

const vulnerabilitySchema = z
  .object({
    vulnerabilityID: z.string().min(1),
    resource: z.string(),
    installedVersion: z.string().optional(),
    fixedVersion: z.string().optional(),
    publishedDate: z.string().optional(),
    lastModifiedDate: z.string().optional(),
    severity: z.string().optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    primaryLink: z.string().optional(),
    links: z.array(z.string()).nullish(),
    score: z.number().nullish(),
    target: z.string().optional(),
    class: z.string().optional(),
    packageType: z.string().optional(),
    packagePath: z.string().optional(),
    packagePURL: z.string().optional(),
  })
  .passthrough();

const vulnerabilityReportSchema = z
  .object({
    kind: z.string(),
    metadata: metadataSchema,
    report: z
      .object({
        updateTimestamp: z.string().optional(),
        scanner: scannerSchema.optional(),
        registry: z.object({ server: z.string().optional() }).passthrough().optional(),
        artifact: z.object({ repository: z.string().optional(), tag: z.string().optional(), digest: z.string().optional() }).passthrough(),
        vulnerabilities: z.array(vulnerabilitySchema).nullish(),
      })
      .passthrough(),
  })
  .passthrough();

const checkSchema = z
  .object({
    checkID: z.string().min(1),
    title: z.string().optional(),
    description: z.string().optional(),
    severity: z.string().optional(),
    category: z.string().optional(),
    messages: z.array(z.string()).nullish(),
    remediation: z.string().optional(),
    success: z.boolean(),
    scope: z.object({ type: z.string(), value: z.string() }).passthrough().nullish(),
  })
  .passthrough();

const configAuditReportSchema = z
  .object({
    kind: z.string(),
    metadata: metadataSchema,
    report: z.object({ updateTimestamp: z.string().optional(), scanner: scannerSchema.optional(), checks: z.array(checkSchema).nullish() }).passthrough(),
  })
  .passthrough();

// compliance_types.go: the spec names the standard and its controls; the status holds either the
// detail report (each control's checks with success) or the summary (each control's totalFail).
const complianceCheckSchema = z
  .object({
    checkID: z.string().optional(),
    target: z.string().optional(),
    title: z.string().optional(),
    severity: z.string().optional(),
    messages: z.array(z.string()).nullish(),
    remediation: z.string().optional(),
    success: z.boolean(),
  })
  .passthrough();

const complianceReportSchema = z
  .object({
    kind: z.literal(COMPLIANCE_KIND),
    metadata: metadataSchema,
    spec: z
      .object({
        compliance: z
          .object({
            id: z.string().min(1),
            title: z.string().default(''),
            version: z.string().optional(),
            controls: z
              .array(
                z
                  .object({ id: z.string().min(1), name: z.string().default(''), description: z.string().optional(), severity: z.string().optional() })
                  .passthrough(),
              )
              .nullish(),
          })
          .passthrough(),
      })
      .passthrough(),
    status: z
      .object({
        updateTimestamp: z.string().optional(),
        detailReport: z
          .object({
            results: z
              .array(
                z
                  .object({
                    id: z.string().min(1),
                    name: z.string().default(''),
                    severity: z.string().optional(),
                    checks: z.array(complianceCheckSchema).nullish(),
                  })
                  .passthrough(),
              )
              .nullish(),
          })
          .passthrough()
          .nullish(),
        summaryReport: z
          .object({
            controlCheck: z
              .array(
                z
                  .object({ id: z.string().min(1), name: z.string().default(''), severity: z.string().optional(), totalFail: z.number().int().nullish() })
                  .passthrough(),
              )
              .nullish(),
          })
          .passthrough()
          .nullish(),
      })
      .passthrough()
      .default({}),
  })
  .passthrough();

type Metadata = z.infer<typeof metadataSchema>;
type VulnerabilityReport = z.infer<typeof vulnerabilityReportSchema>;
type Vulnerability = z.infer<typeof vulnerabilitySchema>;
type Check = z.infer<typeof checkSchema>;

const isTrivyOperator = (object: unknown) => typeOf(object).apiVersion === API_VERSION;
const isRead = (object: unknown) => {
  const { kind } = typeOf(object);
  return !!kind && (VULNERABILITY_KINDS.includes(kind) || CONFIG_AUDIT_KINDS.includes(kind) || kind === COMPLIANCE_KIND);
};

/** The workload the report is about, from the labels Trivy Operator puts on it. */
function resourceOf(metadata: Metadata, item: KubernetesItem, cluster: string | undefined): ResourceRef & { container?: string } {
  const labels = metadata.labels ?? {};
  const at = (label: string) => `${item.path ? `${item.path}.` : ''}metadata.labels["${label}"]`;
  if (!labels[LABEL.kind]) throw new ParseError('required: names the scanned resource kind', at(LABEL.kind));
  if (!labels[LABEL.name]) throw new ParseError('required: names the scanned resource', at(LABEL.name));
  return {
    cluster,
    namespace: labels[LABEL.namespace] || metadata.namespace || undefined,
    kind: labels[LABEL.kind],
    name: labels[LABEL.name],
    container: labels[LABEL.container] || undefined,
  };
}

/** Trivy Operator writes `index.docker.io` for Docker Hub; elsewhere the server is the registry host. */
function artifactOf(report: VulnerabilityReport['report']): Artifact {
  return {
    registry: report.registry?.server || undefined,
    repository: report.artifact.repository || undefined,
    tag: report.artifact.tag || undefined,
    digest: report.artifact.digest || undefined,
  };
}

/**
 * Complete for the vulnerabilities of one image digest, as Trivy Operator sees it: the tool's own view
 * (`image:<digest>/<tool>`, the triage convention) so that it does not replace the membership of a CI
 * Trivy report's `image:<digest>` scope, which also holds misconfigurations and secrets.
 */
export function imageVulnerabilityScopeKey(digest: string): string {
  return `image:${digest}/${TOOL}`;
}

export function configAuditScopeKey(ref: ResourceRef): string {
  return `resource:${resourcePath(ref)}#misconfiguration:${TOOL}`;
}

function vulnerabilityFinding(v: Vulnerability, artifact: Artifact, workload: Workload, observedAt: string, meta: SourceMeta, version?: string): Finding {
  const fixable = !!v.fixedVersion;
  return toFinding({
    kind: 'vulnerability',
    stage: 'deploy',
    source: { tool: TOOL, integration: meta.integration, eventId: meta.eventId, toolVersion: version },
    title: `${v.vulnerabilityID} in ${v.resource}${v.title ? ` — ${v.title}` : ''}`,
    description: v.description,
    severity: normalizeSeverity(v.severity),
    toolSeverity: v.severity,
    rule: {
      id: v.vulnerabilityID,
      name: v.title,
      references: [...new Set([v.primaryLink, ...(v.links ?? [])].filter((l): l is string => !!l))],
      cvss: v.score ?? undefined,
    },
    artifact,
    package: {
      name: v.resource,
      ecosystem: v.packageType,
      installed: v.installedVersion,
      fixed: v.fixedVersion || undefined,
      purl: v.packagePURL,
      path: v.packagePath,
    },
    workload,
    fixable,
    remediation: fixable ? `Upgrade ${v.resource}${v.installedVersion ? ` from ${v.installedVersion}` : ''} to ${v.fixedVersion}` : undefined,
    observedAt,
    raw: { target: v.target, class: v.class, publishedDate: v.publishedDate, lastModifiedDate: v.lastModifiedDate },
  });
}

function parseVulnerabilityReport(item: KubernetesItem, meta: SourceMeta): Batch {
  const doc = validateAt(vulnerabilityReportSchema, item.object, item.path);
  if (item.deleted) {
    // The vulnerabilities belong to the image, which may still run elsewhere: a deleted report resolves nothing.
    return { findings: [], assets: [], scopes: [] };
  }
  const resource = resourceOf(doc.metadata, item, clusterOf(meta));
  const { report } = doc;
  const artifact = artifactOf(report);
  const workload: Workload = {
    cluster: resource.cluster,
    namespace: resource.namespace,
    kind: resource.kind,
    name: resource.name,
    container: resource.container,
  };
  const observedAt = report.updateTimestamp ?? meta.receivedAt;
  const findings = (report.vulnerabilities ?? []).map((v) => vulnerabilityFinding(v, artifact, workload, observedAt, meta, report.scanner?.version));
  const assets: Asset[] = artifact.digest
    ? [
        {
          type: 'image',
          digest: artifact.digest,
          registry: artifact.registry,
          repository: artifact.repository,
          tags: artifact.tag ? [artifact.tag] : [],
          labels: {},
          observedAt,
        },
      ]
    : [];
  const scopeKey = artifact.digest
    ? imageVulnerabilityScopeKey(artifact.digest)
    : `resource:${resourcePath(resource)}/${resource.container ?? ''}#vulnerability:${TOOL}`;
  return { findings, assets, scopes: [{ key: scopeKey, kinds: ['vulnerability'], reportedAt: report.updateTimestamp }] };
}

function checkFinding(check: Check, resource: ResourceRef, observedAt: string, meta: SourceMeta, version?: string): Finding {
  const where = `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ''}${resource.name}`;
  const messages = check.messages ?? [];
  return toFinding({
    kind: 'misconfiguration',
    stage: 'deploy',
    source: { tool: TOOL, integration: meta.integration, eventId: meta.eventId, toolVersion: version },
    title: `${check.checkID} ${check.title ?? ''} on ${where}`.replace(/\s+/g, ' '),
    description: [check.description, ...messages].filter(Boolean).join('\n') || undefined,
    severity: normalizeSeverity(check.severity),
    toolSeverity: check.severity,
    rule: { id: check.checkID, name: check.title, tags: check.category ? [check.category] : undefined },
    workload: { cluster: resource.cluster, namespace: resource.namespace, kind: resource.kind, name: resource.name },
    fixable: true,
    remediation: check.remediation,
    observedAt,
    labels: check.category ? { category: check.category } : {},
    raw: { messages, category: check.category, scope: check.scope ?? undefined },
  });
}

function parseConfigAuditReport(item: KubernetesItem, meta: SourceMeta): Batch {
  const doc = validateAt(configAuditReportSchema, item.object, item.path);
  const resource = resourceOf(doc.metadata, item, clusterOf(meta));
  const scope = { key: configAuditScopeKey(resource), kinds: ['misconfiguration' as const], reportedAt: doc.report.updateTimestamp };
  if (item.deleted) return { findings: [], assets: [], scopes: [scope] };
  const observedAt = doc.report.updateTimestamp ?? meta.receivedAt;
  const findings = (doc.report.checks ?? []).filter((c) => !c.success).map((c) => checkFinding(c, resource, observedAt, meta, doc.report.scanner?.version));
  return { findings, assets: [], scopes: [scope] };
}

/** Complete for its standard on the cluster: a control that passes again resolves its finding. */
export function complianceReportScopeKey(cluster: string | undefined, standard: string): string {
  return `resource:${cluster ?? ''}//Cluster/${cluster ?? 'cluster'}#compliance:${TOOL}:${standard}`;
}

interface ControlOutcome {
  id: string;
  name: string;
  severity?: string;
  failed: number;
  passed: number;
  failing: z.infer<typeof complianceCheckSchema>[];
}

/** Each control's outcome from whichever report the operator wrote (`reportType: all` or `summary`). */
function controlOutcomes(report: z.infer<typeof complianceReportSchema>): ControlOutcome[] {
  const results = report.status.detailReport?.results;
  if (results) {
    return results.map((r) => {
      const checks = r.checks ?? [];
      const failing = checks.filter((c) => !c.success);
      return { id: r.id, name: r.name, severity: r.severity, failed: failing.length, passed: checks.length - failing.length, failing };
    });
  }
  return (report.status.summaryReport?.controlCheck ?? []).map((c) => ({
    id: c.id,
    name: c.name,
    severity: c.severity,
    failed: c.totalFail ?? 0,
    passed: c.totalFail ? 0 : 1,
    failing: [],
  }));
}

function parseComplianceReport(item: KubernetesItem, meta: SourceMeta): Batch {
  const doc = validateAt(complianceReportSchema, item.object, item.path);
  const cluster = clusterOf(meta);
  const { compliance } = doc.spec;
  const scope = { key: complianceReportScopeKey(cluster, compliance.id), kinds: ['compliance' as const] };
  if (item.deleted) return { findings: [], assets: [], scopes: [scope] };
  const standard = { id: compliance.id, title: compliance.title || compliance.id };
  const observedAt = doc.status.updateTimestamp ?? meta.receivedAt;
  const described = new Map((compliance.controls ?? []).map((c) => [c.id, c]));
  const findings: Finding[] = [];
  const controls: ControlResult[] = [];
  for (const outcome of controlOutcomes(doc)) {
    const severity = normalizeSeverity(outcome.severity ?? described.get(outcome.id)?.severity);
    const remediation = [...new Set(outcome.failing.map((c) => c.remediation).filter((r): r is string => !!r))].join('\n') || undefined;
    let raised: Finding | undefined;
    if (outcome.failed > 0) {
      raised = toFinding({
        kind: 'compliance',
        stage: 'deploy',
        source: { tool: TOOL, integration: meta.integration, eventId: meta.eventId },
        title: `${standard.title} ${outcome.id} ${outcome.name} fails (${outcome.failed})`.replace(/\s+/g, ' '),
        description:
          [described.get(outcome.id)?.description, ...outcome.failing.map((c) => [c.target, c.title, ...(c.messages ?? [])].filter(Boolean).join(': '))]
            .filter(Boolean)
            .join('\n') || undefined,
        severity,
        toolSeverity: outcome.severity,
        rule: { id: `${compliance.id}/${outcome.id}`, name: outcome.name, tags: [compliance.id] },
        workload: { cluster, kind: 'Cluster', name: cluster ?? 'cluster' },
        fixable: true,
        remediation,
        observedAt,
        labels: { standard: compliance.id, control: outcome.id },
        raw: { standard: compliance.id, control: outcome.id, failed: outcome.failed, checks: outcome.failing.map((c) => c.checkID).filter(Boolean) },
      });
      findings.push(raised);
    }
    controls.push({
      standard,
      control: { id: outcome.id, title: outcome.name, severity },
      cluster,
      status: outcome.failed > 0 ? 'fail' : 'pass',
      passed: outcome.passed,
      failed: outcome.failed,
      findings: raised ? [raised.fingerprint] : [],
      remediation,
      observedAt,
    });
  }
  return { findings, assets: [], scopes: [scope], controls };
}

function parse(raw: string, meta: SourceMeta): Batch {
  const items = itemsOf(parseJson(raw));
  const batch: Batch = { findings: [], assets: [], scopes: [] };
  const unread: string[] = [];
  for (const item of items) {
    const { apiVersion, kind } = typeOf(item.object);
    const at = (field: string) => (item.path ? `${item.path}.${field}` : field);
    if (!isObject(item.object)) throw new ParseError('expected a Trivy Operator report object', item.path || undefined);
    if (apiVersion !== API_VERSION) throw new ParseError(`expected ${API_VERSION}, got ${JSON.stringify(apiVersion)}`, at('apiVersion'));
    let part: Batch;
    if (kind && VULNERABILITY_KINDS.includes(kind)) part = parseVulnerabilityReport(item, meta);
    else if (kind && CONFIG_AUDIT_KINDS.includes(kind)) part = parseConfigAuditReport(item, meta);
    else if (kind === COMPLIANCE_KIND) part = parseComplianceReport(item, meta);
    else {
      // ExposedSecretReport, RbacAssessmentReport, SbomReport, …: well-formed, not read (yet).
      unread.push(String(kind));
      continue;
    }
    batch.findings.push(...part.findings);
    batch.assets.push(...part.assets);
    batch.scopes.push(...part.scopes);
    if (part.controls?.length) (batch.controls ??= []).push(...part.controls);
  }
  if (unread.length === items.length && items.length > 0) {
    throw new IgnoredInput(`Trivy Operator ${[...new Set(unread)].join(', ')} is not read by Klaxon`);
  }
  return batch;
}

export const trivyOperatorParser: SourceParser = {
  format: 'trivy-operator',
  readsYaml: true,
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    if (Array.isArray(document.items)) return document.items.length > 0 && document.items.every((i) => isTrivyOperator(i) && isRead(i));
    return isTrivyOperator(document) && isRead(document);
  },
  parse,
};
