import { toFinding, type Artifact, type Batch, type Code, type Finding, type FindingKind, type Scope, type Severity } from '@klaxon/findings';
import { z } from 'zod';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { severityOfLevel } from '../common/sarif-level';
import { imageAt, parseImageRef, repoName } from '../common/image-ref';
import { packageFromMessage } from '../common/trivy-message';

// SARIF 2.1.0 (OASIS sarif-v2.1.0, schema sarif-schema-2.1.0.json) as written by Trivy, Grype, Semgrep and
// CodeQL. Only what Klaxon reads is checked; `properties` bags pass through. GitHub's reading of
// `security-severity` (docs "SARIF support for code scanning"): over 9.0 critical, 7.0–8.9 high,
// 4.0–6.9 medium, 0.1–3.9 low.
const messageSchema = z.object({ text: z.string().optional(), markdown: z.string().optional() }).passthrough();
const propertiesSchema = z.object({ tags: z.array(z.string()).optional(), 'security-severity': z.union([z.string(), z.number()]).optional() }).passthrough();

const ruleSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    shortDescription: messageSchema.optional(),
    fullDescription: messageSchema.optional(),
    help: messageSchema.optional(),
    helpUri: z.string().optional(),
    defaultConfiguration: z.object({ level: z.string().optional() }).passthrough().optional(),
    properties: propertiesSchema.optional(),
  })
  .passthrough();

const componentSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().optional(),
    semanticVersion: z.string().optional(),
    rules: z.array(ruleSchema).optional(),
  })
  .passthrough();

const locationSchema = z
  .object({
    physicalLocation: z
      .object({
        artifactLocation: z.object({ uri: z.string().optional(), uriBaseId: z.string().optional() }).passthrough().optional(),
        region: z.object({ startLine: z.number().int().optional() }).passthrough().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

const resultSchema = z
  .object({
    ruleId: z.string().optional(),
    ruleIndex: z.number().int().optional(),
    rule: z
      .object({
        id: z.string().optional(),
        index: z.number().int().optional(),
        toolComponent: z.object({ index: z.number().int().optional() }).passthrough().optional(),
      })
      .passthrough()
      .optional(),
    kind: z.string().optional(),
    level: z.string().optional(),
    message: messageSchema,
    locations: z.array(locationSchema).optional(),
    partialFingerprints: z.record(z.string()).optional(),
    fingerprints: z.record(z.string()).optional(),
    suppressions: z.array(z.object({ status: z.string().optional() }).passthrough()).optional(),
    properties: propertiesSchema.optional(),
  })
  .passthrough();

const runSchema = z
  .object({
    tool: z.object({ driver: componentSchema, extensions: z.array(componentSchema).optional() }).passthrough(),
    results: z.array(resultSchema).nullish(),
    versionControlProvenance: z
      .array(z.object({ repositoryUri: z.string(), revisionId: z.string().optional(), branch: z.string().optional() }).passthrough())
      .optional(),
    properties: z
      .object({ imageName: z.string().optional(), repoDigests: z.array(z.string()).nullish() })
      .passthrough()
      .optional(),
  })
  .passthrough();

const logSchema = z
  .object({
    version: z.literal('2.1.0', { errorMap: () => ({ message: 'Klaxon reads SARIF version "2.1.0"' }) }),
    runs: z.array(runSchema),
  })
  .passthrough();

type Run = z.infer<typeof runSchema>;
type Rule = z.infer<typeof ruleSchema>;
type Result = z.infer<typeof resultSchema>;

/** Result kinds that are not problems (SARIF §3.27.9): the default is `fail`. */
const NOT_A_PROBLEM = new Set(['pass', 'notApplicable', 'informational', 'open', 'review']);

export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'info';
}

function securitySeverity(...bags: (z.infer<typeof propertiesSchema> | undefined)[]): number | undefined {
  for (const bag of bags) {
    const value = bag?.['security-severity'];
    const score = typeof value === 'number' ? value : value !== undefined ? Number.parseFloat(value) : NaN;
    if (Number.isFinite(score)) return score;
  }
  return undefined;
}

/** Rules may live in the driver or, as CodeQL writes them, in an extension named by `rule.toolComponent`. */
function ruleOf(run: Run, result: Result): Rule | undefined {
  const id = result.ruleId ?? result.rule?.id;
  const componentIndex = result.rule?.toolComponent?.index;
  const component = componentIndex !== undefined ? run.tool.extensions?.[componentIndex] : run.tool.driver;
  const index = result.ruleIndex ?? result.rule?.index;
  const byIndex = index !== undefined ? component?.rules?.[index] : undefined;
  if (byIndex && (!id || byIndex.id === id)) return byIndex;
  const all = [run.tool.driver, ...(run.tool.extensions ?? [])].flatMap((c) => c.rules ?? []);
  return all.find((r) => r.id === id);
}

function kindOf(tags: string[], hasPackage: boolean): FindingKind {
  if (tags.includes('secret')) return 'secret';
  if (tags.includes('vulnerability') && hasPackage) return 'vulnerability';
  if (tags.includes('misconfiguration')) return 'misconfiguration';
  return 'code';
}

/** `file:///src/a.js`, `./src/a.js` and `src/a.js` are one path relative to the scanned root. */
export function relativePath(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  return uri.replace(/^file:\/\//, '').replace(/^(\.\/|\/)+/, '') || undefined;
}

function isSuppressed(result: Result): boolean {
  return (result.suppressions ?? []).some((s) => s.status === undefined || s.status === 'accepted');
}

/** The image the run is about: upload context first, then Trivy's run properties. */
function artifactOf(run: Run, meta: SourceMeta): Artifact | undefined {
  const name = meta.context.image ?? run.properties?.imageName;
  const digests = (run.properties?.repoDigests ?? []).map(parseImageRef);
  const digest = meta.context.digest ?? (name ? parseImageRef(name).digest : undefined) ?? digests[0]?.digest;
  if (!name && !digest) return undefined;
  const ref = name ? parseImageRef(name) : undefined;
  return { registry: ref?.registry, repository: ref?.repository, tag: ref?.tag, digest };
}

function codeOf(run: Run, meta: SourceMeta): Code {
  const vcs = run.versionControlProvenance?.[0];
  return {
    repo: meta.context.repo ?? (vcs ? repoName(vcs.repositoryUri) : undefined),
    commit: meta.context.commit ?? vcs?.revisionId,
    branch: meta.context.branch ?? vcs?.branch?.replace(/^refs\/heads\//, ''),
    pullRequest: meta.context.pr,
  };
}

function findingOf(run: Run, result: Result, artifact: Artifact | undefined, code: Code, meta: SourceMeta): Finding {
  const rule = ruleOf(run, result);
  const ruleId = result.ruleId ?? result.rule?.id ?? rule?.id;
  if (!ruleId) throw new ParseError('a result needs ruleId (or rule.id)', 'ruleId');
  const tags = [...(rule?.properties?.tags ?? []), ...(result.properties?.tags ?? [])];
  const pkg = packageFromMessage(result.message.text);
  const kind = kindOf(tags, !!pkg);
  const score = securitySeverity(result.properties, rule?.properties);
  const level = result.level ?? rule?.defaultConfiguration?.level;
  const location = result.locations?.[0]?.physicalLocation;
  const partial = result.partialFingerprints ?? {};
  const partialKey = Object.keys(partial).sort()[0];
  const title = rule?.shortDescription?.text || result.message.text?.split('\n')[0] || ruleId;
  const fixable = kind === 'vulnerability' ? !!pkg?.fixed : true;
  const path = relativePath(location?.artifactLocation?.uri);
  // Trivy locates an image's package vulnerability at the image: the run's image when it names none.
  const image = kind === 'vulnerability' && path ? imageAt(path) : undefined;
  const subject = artifact ?? (image ? { registry: image.registry, repository: image.repository, tag: image.tag, digest: image.digest } : undefined);
  return toFinding({
    kind,
    stage: 'build',
    source: {
      // Trivy's SARIF says `Trivy`, its JSON `trivy`: one tool, one name.
      tool: run.tool.driver.name.toLowerCase(),
      integration: meta.integration,
      eventId: meta.eventId,
      toolVersion: run.tool.driver.semanticVersion ?? run.tool.driver.version,
    },
    title,
    description: rule?.fullDescription?.text ?? result.message.text,
    severity: score !== undefined ? severityFromScore(score) : severityOfLevel(level ?? 'warning'),
    toolSeverity: score !== undefined ? String(score) : (level ?? 'warning'),
    rule: {
      id: ruleId,
      name: rule?.name,
      references: rule?.helpUri ? [rule.helpUri] : [],
      tags: tags.length ? [...new Set(tags)] : undefined,
      cvss: kind === 'vulnerability' ? score : undefined,
    },
    artifact: kind !== 'code' || !code.repo ? subject : undefined,
    package: kind === 'vulnerability' && pkg ? { name: pkg.name, installed: pkg.installed, fixed: pkg.fixed } : undefined,
    code: {
      ...code,
      // An image's own misconfiguration (its config, read as a Dockerfile) belongs to the image, as in Trivy's JSON.
      path: (kind === 'misconfiguration' && artifact) || image ? undefined : path,
      line: location?.region?.startLine,
      partialFingerprint: partialKey ? `${partialKey}:${partial[partialKey]}` : undefined,
    },
    fixable,
    remediation: kind === 'vulnerability' ? (pkg?.fixed ? `Upgrade ${pkg.name} to ${pkg.fixed}` : undefined) : rule?.help?.text,
    observedAt: meta.receivedAt,
    raw: { level, kind: result.kind, message: result.message.text, ...(path ? { path } : {}) },
  });
}

/**
 * A run is the tool's complete answer for what it scanned: an image digest, or the repository (per
 * branch when known). The key names the tool, so one tool's run never resolves another tool's findings.
 */
function scopeOf(run: Run, artifact: Artifact | undefined, code: Code): Scope | undefined {
  const tool = run.tool.driver.name;
  const kinds: FindingKind[] = ['code', 'secret', 'misconfiguration', 'vulnerability'];
  if (artifact?.digest) return { key: `image:${artifact.digest}/${tool}`, kinds };
  if (code.repo) return { key: `repo:${code.repo}${code.branch ? `@${code.branch}` : ''}/${tool}`, kinds };
  // Neither an image nor a repository: nothing to say it is complete for.
  return undefined;
}

function parse(raw: string, meta: SourceMeta): Batch {
  const log = validateAt(logSchema, parseJson(raw));
  const findings: Finding[] = [];
  const scopes: Scope[] = [];
  log.runs.forEach((run, r) => {
    const artifact = artifactOf(run, meta);
    const code = codeOf(run, meta);
    const runFindings = (run.results ?? []).flatMap((result, i) => {
      if (NOT_A_PROBLEM.has(result.kind ?? 'fail') || isSuppressed(result)) return [];
      try {
        return [findingOf(run, result, artifact, code, meta)];
      } catch (err) {
        if (err instanceof ParseError) throw new ParseError(err.message.replace(/^[^:]+: /, ''), `runs[${r}].results[${i}].${err.path}`);
        throw err;
      }
    });
    findings.push(...runFindings);
    const scope = scopeOf(run, artifact, code);
    // The run's end time orders two runs of one scope (SARIF 2.1.0 §3.20.8, invocation.endTimeUtc).
    const invocations = (run as { invocations?: { endTimeUtc?: unknown }[] }).invocations;
    const ended = Array.isArray(invocations) ? invocations.map((i) => i?.endTimeUtc).find((t): t is string => typeof t === 'string') : undefined;
    if (scope) scopes.push({ ...scope, reportedAt: ended });
  });
  return { findings, assets: [], scopes };
}

export const sarifParser: SourceParser = {
  format: 'sarif',
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    const doc = document as Record<string, unknown>;
    return Array.isArray(doc.runs) && (typeof doc.version === 'string' || typeof doc.$schema === 'string');
  },
  parse,
};
