import type { Asset, Batch, FollowUp } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { parseImageRef } from '../common/image-ref';

// Harbor's webhook payloads (goharbor/harbor src/pkg/notifier/model/event.go, formats/default.go and
// formats/cloudevents.go). The Default format is `{type, occur_at, operator, event_data}`; the
// CloudEvents format wraps the same `event_data` as `data`, with `type` renamed (`harbor.scan.completed`)
// and the operator as an extension attribute.
const resourceSchema = z
  .object({
    digest: z.string().optional(),
    tag: z.string().optional(),
    resource_url: z.string().optional(),
    scan_overview: z.record(z.unknown()).optional(),
  })
  .passthrough();

const eventDataSchema = z
  .object({
    resources: z.array(resourceSchema).nullish(),
    repository: z
      .object({
        name: z.string(),
        namespace: z.string(),
        repo_full_name: z.string(),
        repo_type: z.string().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

const defaultSchema = z
  .object({
    type: z.string().min(1),
    occur_at: z.number().optional(),
    operator: z.string().optional(),
    event_data: eventDataSchema,
  })
  .passthrough();

const cloudEventSchema = z
  .object({
    specversion: z.string(),
    id: z.string().optional(),
    type: z.string().min(1),
    source: z.string().optional(),
    time: z.string().optional(),
    operator: z.string().optional(),
    data: eventDataSchema,
  })
  .passthrough();

type EventData = z.infer<typeof eventDataSchema>;
type Resource = z.infer<typeof resourceSchema>;

/** CloudEvents types Harbor sends (eventTypeMapping in formats/cloudevents.go) → the Default format's names. */
const CLOUD_EVENT_TYPES: Record<string, string> = {
  'harbor.artifact.pushed': 'PUSH_ARTIFACT',
  'harbor.artifact.pulled': 'PULL_ARTIFACT',
  'harbor.artifact.deleted': 'DELETE_ARTIFACT',
  'harbor.scan.completed': 'SCANNING_COMPLETED',
  'harbor.scan.failed': 'SCANNING_FAILED',
  'harbor.scan.stopped': 'SCANNING_STOPPED',
};

/** The events that say something about an image Klaxon tracks; the rest (pulls, quotas, replication) are acknowledged. */
const READ = new Set(['SCANNING_COMPLETED', 'SCANNING_FAILED', 'PUSH_ARTIFACT']);

/** The follow-up kind the collector's Harbor worker pulls (the full vulnerability report of one artifact). */
export const HARBOR_REPORT_FOLLOW_UP = 'harbor-report';

interface HarborEvent {
  type: string;
  operator?: string;
  data: EventData;
  /** Where the payload lives in the document, for error paths. */
  dataPath: string;
}

function read(doc: unknown): HarborEvent {
  if (!isObject(doc)) throw new ParseError('a Harbor webhook payload is a JSON object');
  if ('specversion' in doc) {
    const event = validateAt(cloudEventSchema, doc);
    const type = CLOUD_EVENT_TYPES[event.type];
    if (!type) throw new IgnoredInput(`Harbor CloudEvent "${event.type}" carries nothing Klaxon reads`);
    return { type, operator: event.operator, data: event.data, dataPath: 'data' };
  }
  if (!('type' in doc)) throw new ParseError('missing; expected a Harbor event type such as SCANNING_COMPLETED', 'type');
  const event = validateAt(defaultSchema, doc);
  return { type: event.type, operator: event.operator, data: event.event_data, dataPath: 'event_data' };
}

/** `harbor.example.com/shop/checkout:1.4.2` or `…@sha256:…` → registry host; the repository comes from `repository`. */
function registryOf(resource: Resource): string | undefined {
  return resource.resource_url ? parseImageRef(resource.resource_url).registry : undefined;
}

function tagsOf(resource: Resource): string[] {
  // Harbor writes the digest as the "tag" of an untagged artifact.
  return resource.tag && !resource.tag.startsWith('sha256:') ? [resource.tag] : [];
}

function imageAsset(resource: Resource & { digest: string }, repository: string, meta: SourceMeta): Asset {
  return {
    type: 'image',
    digest: resource.digest,
    registry: registryOf(resource),
    repository,
    tags: tagsOf(resource),
    labels: {},
    observedAt: meta.receivedAt,
  };
}

function parse(raw: string, meta: SourceMeta): Batch {
  const event = read(parseJson(raw));
  if (!READ.has(event.type)) throw new IgnoredInput(`Harbor event ${event.type} carries nothing Klaxon reads`);
  const repository = event.data.repository;
  if (!repository) throw new ParseError(`Required for ${event.type}`, `${event.dataPath}.repository`);
  const resources = event.data.resources ?? [];
  if (resources.length === 0) throw new ParseError(`${event.type} names no artifact`, `${event.dataPath}.resources`);
  const withDigest = resources.map((resource, i) => {
    if (!resource.digest) throw new ParseError('Required: Klaxon tracks images by manifest digest', `${event.dataPath}.resources[${i}].digest`);
    return resource as Resource & { digest: string };
  });

  const assets = withDigest.map((resource) => imageAsset(resource, repository.repo_full_name, meta));
  // The webhook carries only severity counts; the findings come from the report the collector pulls.
  const followUps: FollowUp[] =
    event.type === 'SCANNING_COMPLETED'
      ? withDigest.map((resource) => ({
          kind: HARBOR_REPORT_FOLLOW_UP,
          params: {
            project: repository.namespace,
            repository: repository.repo_full_name,
            digest: resource.digest,
            ...(registryOf(resource) ? { registry: registryOf(resource)! } : {}),
            ...(tagsOf(resource)[0] ? { tag: tagsOf(resource)[0] } : {}),
          },
        }))
      : [];
  return { findings: [], assets, scopes: [], followUps };
}

export const harborParser: SourceParser = {
  format: 'harbor',
  detect(document: unknown): boolean {
    if (!isObject(document)) return false;
    if (typeof document.specversion === 'string') return typeof document.type === 'string' && document.type.startsWith('harbor.');
    return typeof document.type === 'string' && isObject(document.event_data) && 'occur_at' in document;
  },
  parse,
};
