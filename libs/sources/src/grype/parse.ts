import { normalizeSeverity, toFinding, type Artifact, type Batch, type Finding, type Scope } from '@klaxon/findings';
import { z } from 'zod';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { parseImageRef } from '../common/image-ref';
import { scannedImageAssets } from '../common/scanned-image';

// `grype -o json` (anchore/grype grype/presenter/models: document.go, match.go, vulnerability.go,
// vulnerability_metadata.go, package.go, source.go). For an image, source.target is syft's ImageMetadata
// (userInput, manifestDigest, repoDigests, tags, labels, …); for a directory or file, a path.
const cvssSchema = z
  .object({ version: z.string().optional(), vector: z.string().optional(), metrics: z.object({ baseScore: z.number().optional() }).passthrough().optional() })
  .passthrough();

const vulnerabilitySchema = z
  .object({
    id: z.string().min(1),
    dataSource: z.string().optional(),
    namespace: z.string().optional(),
    severity: z.string().optional(),
    urls: z.array(z.string()).nullish(),
    description: z.string().nullish(),
    cvss: z.array(cvssSchema).nullish(),
    knownExploited: z.array(z.unknown()).nullish(),
    epss: z.array(z.object({ epss: z.number().optional() }).passthrough()).nullish(),
    fix: z
      .object({ versions: z.array(z.string()).nullish(), state: z.string().optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

const matchSchema = z
  .object({
    vulnerability: vulnerabilitySchema,
    relatedVulnerabilities: z
      .array(z.object({ id: z.string(), cvss: z.array(cvssSchema).nullish(), description: z.string().nullish() }).passthrough())
      .nullish(),
    artifact: z
      .object({
        name: z.string().min(1),
        version: z.string().optional(),
        type: z.string().optional(),
        purl: z.string().optional(),
        locations: z.array(z.object({ path: z.string(), layerID: z.string().optional() }).passthrough()).nullish(),
      })
      .passthrough(),
  })
  .passthrough();

const imageTargetSchema = z
  .object({
    userInput: z.string().optional(),
    manifestDigest: z.string().optional(),
    repoDigests: z.array(z.string()).nullish(),
    tags: z.array(z.string()).nullish(),
    labels: z.record(z.string()).nullish(),
  })
  .passthrough();

const documentSchema = z
  .object({
    matches: z.array(matchSchema).nullish(),
    source: z.object({ type: z.string(), target: z.unknown() }).passthrough().nullish(),
    distro: z.object({ name: z.string().optional(), version: z.string().optional() }).passthrough().optional(),
    descriptor: z.object({ name: z.string(), version: z.string().optional() }).passthrough(),
  })
  .passthrough();

type Document = z.infer<typeof documentSchema>;
type Match = z.infer<typeof matchSchema>;
type ImageTarget = z.infer<typeof imageTargetSchema>;

function imageTarget(doc: Document): ImageTarget | undefined {
  return doc.source?.type === 'image' ? validateAt(imageTargetSchema, doc.source.target, 'source.target') : undefined;
}

/**
 * The manifest digest a registry and a pod spec name: upload context, then a repo digest, then
 * `manifestDigest` — which syft computes over the manifest it read, the same digest when the image came
 * from a registry. Never the image (config) ID.
 */
function artifactOf(target: ImageTarget | undefined, meta: SourceMeta): Artifact | undefined {
  const name = meta.context.image ?? target?.userInput;
  if (!name && !meta.context.digest) return undefined;
  const ref = name ? parseImageRef(name) : undefined;
  const repoDigests = (target?.repoDigests ?? []).map(parseImageRef);
  const sameRepo = repoDigests.find((r) => r.repository === ref?.repository) ?? repoDigests[0];
  return {
    registry: ref?.registry,
    repository: ref?.repository,
    tag: ref?.tag,
    digest: meta.context.digest ?? ref?.digest ?? sameRepo?.digest ?? target?.manifestDigest,
  };
}

function cvssOf(match: Match): number | undefined {
  const all = [...(match.vulnerability.cvss ?? []), ...(match.relatedVulnerabilities ?? []).flatMap((r) => r.cvss ?? [])];
  const scores = all.map((c) => c.metrics?.baseScore).filter((s): s is number => typeof s === 'number');
  return scores.length ? Math.max(...scores) : undefined;
}

/** Grype reports a GHSA first when the package's ecosystem is GitHub's; the related CVE is what other tools name. */
function ruleIdOf(match: Match): { id: string; aliases: string[] } {
  const own = match.vulnerability.id;
  const cve = own.startsWith('CVE-') ? undefined : match.relatedVulnerabilities?.find((r) => r.id.startsWith('CVE-'))?.id;
  return { id: cve ?? own, aliases: cve ? [own] : [] };
}

function finding(match: Match, artifact: Artifact | undefined, doc: Document, meta: SourceMeta): Finding {
  const { vulnerability: v, artifact: pkg } = match;
  const { id, aliases } = ruleIdOf(match);
  const fixed = v.fix?.state === 'fixed' ? (v.fix.versions ?? []).join(', ') || undefined : undefined;
  const description = v.description ?? match.relatedVulnerabilities?.find((r) => r.description)?.description ?? undefined;
  const path = pkg.locations?.[0]?.path;
  return toFinding({
    kind: 'vulnerability',
    stage: 'build',
    source: { tool: 'grype', integration: meta.integration, eventId: meta.eventId, toolVersion: doc.descriptor.version },
    title: `${id} in ${pkg.name}`,
    description,
    severity: normalizeSeverity(v.severity),
    toolSeverity: v.severity,
    rule: {
      id,
      references: [...new Set([v.dataSource, ...(v.urls ?? [])].filter((u): u is string => !!u))],
      cvss: cvssOf(match),
      exploited: v.knownExploited?.length ? true : undefined,
      epss: v.epss?.[0]?.epss,
      tags: aliases.length ? aliases : undefined,
    },
    artifact,
    package: { name: pkg.name, ecosystem: pkg.type, installed: pkg.version, fixed, purl: pkg.purl, path },
    code: artifact ? undefined : { repo: meta.context.repo, commit: meta.context.commit, branch: meta.context.branch, pullRequest: meta.context.pr, path },
    fixable: !!fixed,
    remediation: fixed ? `Upgrade ${pkg.name}${pkg.version ? ` from ${pkg.version}` : ''} to ${fixed}` : undefined,
    observedAt: meta.receivedAt,
    raw: { fixState: v.fix?.state, namespace: v.namespace, grypeId: v.id, locations: pkg.locations?.map((l) => l.path) },
  });
}

function scopesOf(doc: Document, artifact: Artifact | undefined): Scope[] {
  // Grype finds vulnerabilities only; the key names the tool so its report leaves Trivy's secrets alone.
  const timestamp = doc.descriptor.timestamp;
  const reportedAt = typeof timestamp === 'string' ? timestamp : undefined;
  if (artifact?.digest) return [{ key: `image:${artifact.digest}/grype`, kinds: ['vulnerability'], reportedAt }];
  const target = doc.source?.target;
  if (typeof target === 'string' && target) return [{ key: `${doc.source!.type}:${target}/grype`, kinds: ['vulnerability'], reportedAt }];
  return [];
}

function parse(raw: string, meta: SourceMeta): Batch {
  const document = parseJson(raw);
  if (!isObject(document)) throw new ParseError('a Grype report is a JSON object');
  if (!('matches' in document)) throw new ParseError('missing; a Grype JSON report (grype -o json) has matches', 'matches');
  const doc = validateAt(documentSchema, document);
  const target = imageTarget(doc);
  const artifact = artifactOf(target, meta);
  const findings = (doc.matches ?? []).map((m) => finding(m, artifact, doc, meta));
  const image = { labels: target?.labels ?? {}, repoTags: target?.tags ?? [], repo: meta.context.repo };
  return { findings, assets: scannedImageAssets(artifact, image, meta), scopes: scopesOf(doc, artifact) };
}

export const grypeParser: SourceParser = {
  format: 'grype',
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    const doc = document as Record<string, unknown>;
    const descriptor = doc.descriptor as Record<string, unknown> | undefined;
    return Array.isArray(doc.matches) && descriptor?.name === 'grype';
  },
  parse,
};
