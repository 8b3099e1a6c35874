import { normalizeSeverity, toFinding, type Artifact, type Batch, type Finding } from '@klaxon/findings';
import { z } from 'zod';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { parseImageRef } from '../common/image-ref';

// The body of Harbor's `GET /api/v2.0/projects/{project}/repositories/{repo}/artifacts/{ref}/additions/vulnerabilities`:
// an object keyed by report MIME type (src/pkg/scan/rest/v1/spec.go) whose value is a vuln.Report
// (src/pkg/scan/vuln/report.go): generated_at, scanner, severity, vulnerabilities[].
export const REPORT_MIME_TYPES = [
  'application/vnd.security.vulnerability.report; version=1.1',
  'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
] as const;

const itemSchema = z
  .object({
    id: z.string().min(1),
    package: z.string(),
    version: z.string().optional(),
    fix_version: z.string().nullish(),
    severity: z.string().optional(),
    description: z.string().nullish(),
    links: z.array(z.string()).nullish(),
    purl: z.string().optional(),
    artifact_digest: z.string().optional(),
    artifact_digests: z.array(z.string()).nullish(),
    preferred_cvss: z.object({ score_v3: z.number().nullish(), score_v2: z.number().nullish(), vector_v3: z.string().nullish() }).passthrough().nullish(),
    cwe_ids: z.array(z.string()).nullish(),
    vendor_attributes: z.record(z.unknown()).nullish(),
  })
  .passthrough();

const reportSchema = z
  .object({
    generated_at: z.string().optional(),
    scanner: z.object({ name: z.string(), vendor: z.string().optional(), version: z.string().optional() }).passthrough().nullish(),
    severity: z.string().optional(),
    vulnerabilities: z.array(itemSchema).nullish(),
  })
  .passthrough();

type Item = z.infer<typeof itemSchema>;
type Report = z.infer<typeof reportSchema>;

function select(doc: unknown): { mime: string; report: Report } {
  if (!isObject(doc)) {
    throw new ParseError('a Harbor vulnerability report is a JSON object keyed by report MIME type');
  }
  const mime = REPORT_MIME_TYPES.find((m) => m in doc);
  if (!mime) throw new ParseError(`no report under ${REPORT_MIME_TYPES.map((m) => `"${m}"`).join(' or ')}`, REPORT_MIME_TYPES[0]);
  return { mime, report: validateAt(reportSchema, doc[mime], mime) };
}

function cvssOf(item: Item): number | undefined {
  const score = item.preferred_cvss?.score_v3 ?? item.preferred_cvss?.score_v2;
  return typeof score === 'number' && score > 0 ? score : undefined;
}

/** The image the report is about: the collector passes it in the context; the items name the digest too. */
function artifactOf(report: Report, meta: SourceMeta): Artifact {
  const ref = meta.context.image ? parseImageRef(meta.context.image) : undefined;
  const first = report.vulnerabilities?.[0];
  const digest = meta.context.digest ?? ref?.digest ?? first?.artifact_digests?.[0] ?? first?.artifact_digest;
  if (!digest) throw new ParseError('the report names no artifact digest; pass ?digest= (or image=…@sha256:…)', 'digest');
  return { registry: ref?.registry, repository: ref?.repository, tag: ref?.tag, digest };
}

function finding(item: Item, artifact: Artifact, report: Report, meta: SourceMeta): Finding {
  const fixed = item.fix_version || undefined;
  return toFinding({
    kind: 'vulnerability',
    // Harbor scans what was pushed: the registry stage, before any deploy.
    stage: 'registry',
    source: {
      tool: 'harbor',
      integration: meta.integration,
      eventId: meta.eventId,
      toolVersion: report.scanner ? [report.scanner.name, report.scanner.version].filter(Boolean).join(' ') : undefined,
    },
    title: `${item.id} in ${item.package}`,
    description: item.description ?? undefined,
    severity: normalizeSeverity(item.severity),
    toolSeverity: item.severity,
    rule: { id: item.id, references: item.links ?? [], cvss: cvssOf(item), tags: item.cwe_ids ?? undefined },
    artifact,
    package: { name: item.package, installed: item.version, fixed, purl: item.purl },
    fixable: !!fixed,
    remediation: fixed ? `Upgrade ${item.package}${item.version ? ` from ${item.version}` : ''} to ${fixed}` : undefined,
    observedAt: meta.receivedAt,
    raw: { scanner: report.scanner?.name, generated_at: report.generated_at, cwe_ids: item.cwe_ids ?? undefined },
  });
}

function parse(raw: string, meta: SourceMeta): Batch {
  const { report } = select(parseJson(raw));
  const artifact = artifactOf(report, meta);
  return {
    findings: (report.vulnerabilities ?? []).map((item) => finding(item, artifact, report, meta)),
    assets: [],
    // Harbor scans for vulnerabilities only. The key names the tool so that this report does not
    // resolve the misconfigurations and secrets a Trivy upload of the same digest found.
    scopes: [{ key: `image:${artifact.digest}/harbor`, kinds: ['vulnerability'] }],
  };
}

export const harborReportParser: SourceParser = {
  format: 'harbor-report',
  detect(document: unknown): boolean {
    return document !== null && typeof document === 'object' && REPORT_MIME_TYPES.some((m) => m in (document as object));
  },
  parse,
};
