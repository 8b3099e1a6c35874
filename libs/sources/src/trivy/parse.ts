import {
  normalizeSeverity,
  toFinding,
  type Artifact,
  type Asset,
  type Batch,
  type Code,
  type Finding,
  type FindingDraft,
  type FindingKind,
  type Scope,
} from '@klaxon/findings';
import { z } from 'zod';
import { parseImageRef, repoName, type ImageRef } from '../common/image-ref';
import { scannedImageAssets } from '../common/scanned-image';
import { ParseError, parseJson, type ReportContext, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';

// Trivy's JSON report, SchemaVersion 2 (pkg/types/report.go, vulnerability.go, misconfiguration.go and
// fanal/types/secret.go in aquasecurity/trivy). Only the fields Klaxon reads are checked; the rest passes
// through untouched. Trivy omits empty lists, and some versions write them as null.
const list = <T extends z.ZodTypeAny>(item: T) => z.array(item).nullish();

const cvssSchema = z.object({ V2Score: z.number().optional(), V3Score: z.number().optional() }).passthrough();

const vulnerabilitySchema = z
  .object({
    VulnerabilityID: z.string().min(1),
    PkgID: z.string().optional(),
    PkgName: z.string(),
    PkgPath: z.string().optional(),
    PkgIdentifier: z.object({ PURL: z.string().optional() }).passthrough().optional(),
    InstalledVersion: z.string().optional(),
    FixedVersion: z.string().optional(),
    Status: z.string().optional(),
    SeveritySource: z.string().optional(),
    PrimaryURL: z.string().optional(),
    Title: z.string().optional(),
    Description: z.string().optional(),
    Severity: z.string().optional(),
    CVSS: z.record(cvssSchema).nullish(),
    References: list(z.string()),
    PublishedDate: z.string().optional(),
  })
  .passthrough();

const misconfigurationSchema = z
  .object({
    ID: z.string().min(1),
    AVDID: z.string().optional(),
    Type: z.string().optional(),
    Title: z.string().optional(),
    Description: z.string().optional(),
    Message: z.string().optional(),
    Namespace: z.string().optional(),
    Resolution: z.string().optional(),
    Severity: z.string().optional(),
    PrimaryURL: z.string().optional(),
    References: list(z.string()),
    Status: z.string().optional(),
  })
  .passthrough();

const secretSchema = z
  .object({
    RuleID: z.string().min(1),
    Category: z.string().optional(),
    Severity: z.string().optional(),
    Title: z.string().optional(),
    StartLine: z.number().int().optional(),
    EndLine: z.number().int().optional(),
  })
  .passthrough();

const resultSchema = z
  .object({
    Target: z.string(),
    Class: z.string().optional(),
    Type: z.string().optional(),
    Vulnerabilities: list(vulnerabilitySchema),
    Misconfigurations: list(misconfigurationSchema),
    Secrets: list(secretSchema),
  })
  .passthrough();

const reportSchema = z
  .object({
    SchemaVersion: z.literal(2),
    ArtifactName: z.string().optional(),
    ArtifactType: z.string().optional(),
    CreatedAt: z.string().optional(),
    Metadata: z
      .object({
        RepoTags: list(z.string()),
        RepoDigests: list(z.string()),
        ImageConfig: z
          .object({
            config: z
              .object({ Labels: z.record(z.string()).nullish() })
              .passthrough()
              .optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
    Results: list(resultSchema),
  })
  .passthrough();

type Report = z.infer<typeof reportSchema>;
type Result = z.infer<typeof resultSchema>;
type Vulnerability = z.infer<typeof vulnerabilitySchema>;
type Misconfiguration = z.infer<typeof misconfigurationSchema>;
type Secret = z.infer<typeof secretSchema>;

const SUPPORTED_SCHEMA = 2;
/** A Trivy image or filesystem report covers every kind it can find, so absence means resolved. */
const REPORT_KINDS: FindingKind[] = ['vulnerability', 'misconfiguration', 'secret'];
/** Trivy statuses that mean no fix will come even when a version is named. */
const NO_FIX_STATUSES = new Set(['will_not_fix', 'end_of_life']);

function validate(document: unknown): Report {
  if (!isObject(document)) {
    throw new ParseError('a Trivy report is a JSON object');
  }
  const version = (document as Record<string, unknown>).SchemaVersion;
  if (version === undefined) {
    throw new ParseError(`missing; Klaxon reads Trivy SchemaVersion ${SUPPORTED_SCHEMA}`, 'SchemaVersion');
  }
  if (version !== SUPPORTED_SCHEMA) {
    throw new ParseError(`unsupported Trivy schema version ${JSON.stringify(version)}; Klaxon reads SchemaVersion ${SUPPORTED_SCHEMA}`, 'SchemaVersion');
  }
  return validateAt(reportSchema, document);
}

/** What every finding of one report shares: where it was found and how it reached Klaxon. */
interface Subject {
  artifact?: Artifact;
  code?: Code;
  meta: SourceMeta;
}

function findFor<T extends ImageRef>(refs: T[], wanted: ImageRef | undefined, has: (r: T) => boolean): T | undefined {
  const candidates = refs.filter(has);
  const same = wanted && candidates.find((r) => r.registry === wanted.registry && r.repository === wanted.repository);
  return same ?? candidates[0];
}

/**
 * The image the report is about. The manifest digest comes from RepoDigests, never from ImageID (the
 * config digest, which no registry or pod spec names); a digest from the upload context wins.
 */
function artifactOf(report: Report, context: ReportContext): Artifact | undefined {
  const isImage = report.ArtifactType === 'container_image';
  const name = context.image ?? (isImage ? report.ArtifactName : undefined);
  if (!name && !context.digest) return undefined;
  const ref = name ? parseImageRef(name) : undefined;
  const repoDigests = (report.Metadata?.RepoDigests ?? []).map(parseImageRef);
  const repoTags = (report.Metadata?.RepoTags ?? []).map(parseImageRef);
  return {
    registry: ref?.registry,
    repository: ref?.repository,
    tag: ref?.tag ?? findFor(repoTags, ref, (r) => r.tag !== undefined)?.tag,
    digest: context.digest ?? ref?.digest ?? findFor(repoDigests, ref, (r) => r.digest !== undefined)?.digest,
  };
}

function codeOf(report: Report, context: ReportContext): Code | undefined {
  const repo = context.repo ?? (report.ArtifactType === 'repository' ? report.ArtifactName : undefined);
  const code: Code = {
    repo: repo ? repoName(repo) : undefined,
    commit: context.commit,
    branch: context.branch,
    pullRequest: context.pr,
  };
  return Object.values(code).some((v) => v !== undefined) ? code : undefined;
}

/** Outside an image, the Target is a file in the repo (a lockfile, a Dockerfile, a manifest). */
function codeAt(subject: Subject, result: Result, line?: number): Code | undefined {
  if (subject.artifact) return subject.code;
  return { ...subject.code, path: result.Target, line };
}

function common(subject: Subject): Pick<FindingDraft, 'stage' | 'source' | 'observedAt' | 'artifact'> {
  const { meta } = subject;
  return {
    // Reports are uploaded by CI before the image ships; registry and runtime scans come through other formats.
    stage: 'build',
    source: { tool: 'trivy', integration: meta.integration, eventId: meta.eventId },
    observedAt: meta.receivedAt,
    artifact: subject.artifact,
  };
}

function references(primary: string | undefined, others: string[] | null | undefined): string[] {
  return [...new Set([primary, ...(others ?? [])].filter((r): r is string => !!r))];
}

/** Highest v3 base score any vendor gives; v2 only when no vendor has scored v3. */
function highestCvss(cvss: Vulnerability['CVSS']): number | undefined {
  const vendors = Object.values(cvss ?? {});
  for (const key of ['V3Score', 'V2Score'] as const) {
    const scores = vendors.map((v) => v[key]).filter((s): s is number => typeof s === 'number');
    if (scores.length > 0) return Math.max(...scores);
  }
  return undefined;
}

function vulnerabilityFinding(v: Vulnerability, result: Result, subject: Subject): Finding {
  const fixable = !!v.FixedVersion && !NO_FIX_STATUSES.has(v.Status ?? '');
  const from = v.InstalledVersion ? ` from ${v.InstalledVersion}` : '';
  return toFinding({
    ...common(subject),
    kind: 'vulnerability',
    title: `${v.VulnerabilityID} in ${v.PkgName}${v.Title ? ` — ${v.Title}` : ''}`,
    description: v.Description,
    severity: normalizeSeverity(v.Severity),
    toolSeverity: v.Severity,
    rule: {
      id: v.VulnerabilityID,
      name: v.Title,
      references: references(v.PrimaryURL, v.References),
      cvss: highestCvss(v.CVSS),
    },
    package: {
      name: v.PkgName,
      ecosystem: result.Type,
      installed: v.InstalledVersion,
      fixed: v.FixedVersion || undefined,
      purl: v.PkgIdentifier?.PURL,
      path: v.PkgPath,
    },
    code: codeAt(subject, result),
    fixable,
    remediation: fixable ? `Upgrade ${v.PkgName}${from} to ${v.FixedVersion}` : undefined,
    raw: {
      PkgID: v.PkgID,
      Status: v.Status,
      SeveritySource: v.SeveritySource,
      PublishedDate: v.PublishedDate,
      Target: result.Target,
    },
  });
}

function misconfigurationFinding(m: Misconfiguration, result: Result, subject: Subject): Finding {
  const id = m.AVDID || m.ID;
  return toFinding({
    ...common(subject),
    kind: 'misconfiguration',
    title: m.Title ?? id,
    description: m.Description,
    severity: normalizeSeverity(m.Severity),
    toolSeverity: m.Severity,
    rule: { id, name: m.Title, references: references(m.PrimaryURL, m.References) },
    code: codeAt(subject, result),
    fixable: true,
    remediation: m.Resolution,
    raw: { ID: m.ID, Type: m.Type, Message: m.Message, Namespace: m.Namespace, Target: result.Target },
  });
}

/** Match and Code hold the secret itself (masked by Trivy, but not by every tool that writes this format). */
function secretFinding(s: Secret, result: Result, subject: Subject): Finding {
  const title = s.Title ?? s.RuleID;
  return toFinding({
    ...common(subject),
    kind: 'secret',
    title: `${title} in ${result.Target}`,
    severity: normalizeSeverity(s.Severity),
    toolSeverity: s.Severity,
    rule: { id: s.RuleID, name: s.Title },
    code: { ...subject.code, path: result.Target, line: s.StartLine },
    fixable: true,
    remediation: `Revoke and rotate the credential, then remove it from ${result.Target}`,
    raw: { RuleID: s.RuleID, Category: s.Category, StartLine: s.StartLine, EndLine: s.EndLine, Target: result.Target },
  });
}

function findingsOf(result: Result, subject: Subject): Finding[] {
  return [
    ...(result.Vulnerabilities ?? []).map((v) => vulnerabilityFinding(v, result, subject)),
    ...(result.Misconfigurations ?? []).filter((m) => m.Status === 'FAIL').map((m) => misconfigurationFinding(m, result, subject)),
    ...(result.Secrets ?? []).map((s) => secretFinding(s, result, subject)),
  ];
}

function imageAssets(report: Report, subject: Subject): Asset[] {
  const image = {
    labels: report.Metadata?.ImageConfig?.config?.Labels ?? {},
    repoTags: report.Metadata?.RepoTags ?? [],
    repo: subject.code?.repo,
  };
  return scannedImageAssets(subject.artifact, image, subject.meta);
}

function scopesOf(report: Report, artifact: Artifact | undefined): Scope[] {
  if (artifact?.digest) return [{ key: `image:${artifact.digest}`, kinds: REPORT_KINDS, reportedAt: report.CreatedAt }];
  if (report.ArtifactName) return [{ key: `artifact:${report.ArtifactName}`, kinds: REPORT_KINDS, reportedAt: report.CreatedAt }];
  return [];
}

function parse(raw: string, meta: SourceMeta): Batch {
  const report = validate(parseJson(raw));
  const artifact = artifactOf(report, meta.context);
  const subject: Subject = { artifact, code: codeOf(report, meta.context), meta };
  return {
    findings: (report.Results ?? []).flatMap((result) => findingsOf(result, subject)),
    assets: imageAssets(report, subject),
    scopes: scopesOf(report, artifact),
  };
}

export const trivyParser: SourceParser = {
  format: 'trivy',
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    return 'SchemaVersion' in document && ('Results' in document || 'ArtifactName' in document);
  },
  parse,
};
