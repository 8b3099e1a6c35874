import { normalizeSeverity, toFinding, type Batch, type Finding } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { parseImageRef } from '../common/image-ref';

// Quay posts a notification's `event_data` as the webhook body (notifications/notificationmethod.py,
// WebhookMethod): the repository fields of build_repository_event_data plus the event's own. The event
// name is in no header, so the body's shape says which it is: `vulnerability` (or `vulnerabilities`)
// for vulnerability_found (workers/securityscanningnotificationworker.py), `updated_tags` for repo_push.
const vulnerabilitySchema = z
  .object({
    id: z.string().min(1),
    description: z.string().nullish(),
    link: z.string().nullish(),
    priority: z.string().nullish(),
    has_fix: z.boolean().optional(),
  })
  .passthrough();

const repositoryFields = {
  repository: z.string().min(1),
  namespace: z.string().optional(),
  name: z.string().optional(),
  docker_url: z.string().optional(),
  homepage: z.string().optional(),
};

const vulnerabilityFoundSchema = z
  .object({
    ...repositoryFields,
    tags: z.array(z.string()).nullish(),
    vulnerability: vulnerabilitySchema.optional(),
    vulnerabilities: z.array(vulnerabilitySchema).optional(),
  })
  .passthrough();

type Event = z.infer<typeof vulnerabilityFoundSchema>;
type Vulnerability = z.infer<typeof vulnerabilitySchema>;

/** Quay's priorities (util/secscan PRIORITY_LEVELS) include Defcon1, above Critical. */
function severityOf(priority: string | null | undefined) {
  return priority?.toLowerCase() === 'defcon1' ? 'critical' : normalizeSeverity(priority);
}

function finding(v: Vulnerability, event: Event, meta: SourceMeta): Finding {
  const registry = event.docker_url ? parseImageRef(event.docker_url).registry : undefined;
  const tags = event.tags ?? [];
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'quay', integration: meta.integration, eventId: meta.eventId },
    title: `${v.id} in ${event.repository}`,
    description: v.description ?? undefined,
    severity: severityOf(v.priority),
    toolSeverity: v.priority ?? undefined,
    rule: { id: v.id, references: v.link ? [v.link] : [] },
    // Quay names the tags that carry the vulnerable manifest, not the manifest digest nor the package.
    artifact: { registry, repository: event.repository, tag: tags[0] },
    fixable: v.has_fix ?? false,
    observedAt: meta.receivedAt,
    labels: {},
    raw: { tags, homepage: event.homepage },
  });
}

function parse(raw: string, meta: SourceMeta): Batch {
  const doc = parseJson(raw);
  if (!isObject(doc)) throw new ParseError('a Quay notification is a JSON object');
  const body = doc as Record<string, unknown>;
  if (!('vulnerability' in body) && !('vulnerabilities' in body)) {
    if ('updated_tags' in body) throw new IgnoredInput('Quay repo_push names tags, not a manifest digest: nothing to record');
    if (!('repository' in body)) throw new ParseError('missing; a Quay notification names its repository', 'repository');
    throw new IgnoredInput('Quay notification other than vulnerability_found carries nothing Klaxon reads');
  }
  const event = validateAt(vulnerabilityFoundSchema, doc);
  const vulnerabilities = [...(event.vulnerability ? [event.vulnerability] : []), ...(event.vulnerabilities ?? [])];
  // A notification reports what is new, not everything the image has: no scope.
  return { findings: vulnerabilities.map((v) => finding(v, event, meta)), assets: [], scopes: [] };
}

export const quayParser: SourceParser = {
  format: 'quay',
  detect: () => false,
  parse,
};
