import type { Asset, Batch } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { validateAt } from '../common/document';

// The notification envelope a plain registry (distribution/distribution, notifications/event.go) posts
// to its configured endpoints: `{events: [{id, timestamp, action, target: {mediaType, digest, repository,
// tag, url}, request: {host}, actor, source}]}`, media type application/vnd.docker.distribution.events.v2+json.
const eventSchema = z
  .object({
    id: z.string().optional(),
    timestamp: z.string().optional(),
    action: z.string(),
    target: z
      .object({
        mediaType: z.string().optional(),
        digest: z.string().optional(),
        repository: z.string().optional(),
        tag: z.string().optional(),
        url: z.string().optional(),
      })
      .passthrough(),
    request: z.object({ host: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

const envelopeSchema = z.object({ events: z.array(eventSchema) }).passthrough();

type RegistryEvent = z.infer<typeof eventSchema>;

/** Pushes of these are images; the registry also notifies every layer and config blob pushed. */
const MANIFEST_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

/** The registry's host as clients name it: the request's Host, else the target URL's. */
function registryOf(event: RegistryEvent): string | undefined {
  if (event.request?.host) return event.request.host;
  try {
    return event.target.url ? new URL(event.target.url).host : undefined;
  } catch {
    return undefined;
  }
}

function parse(raw: string, meta: SourceMeta): Batch {
  const envelope = validateAt(envelopeSchema, parseJson(raw));
  const assets: Asset[] = [];
  envelope.events.forEach((event, i) => {
    if (event.action !== 'push' || !MANIFEST_TYPES.has(event.target.mediaType ?? '')) return;
    const at = `events[${i}].target`;
    if (!event.target.digest) throw new ParseError('Required: a manifest push names its digest', `${at}.digest`);
    if (!event.target.repository) throw new ParseError('Required: a manifest push names its repository', `${at}.repository`);
    assets.push({
      type: 'image',
      digest: event.target.digest,
      registry: registryOf(event),
      repository: event.target.repository,
      tags: event.target.tag ? [event.target.tag] : [],
      labels: {},
      observedAt: event.timestamp ?? meta.receivedAt,
    });
  });
  if (assets.length === 0) throw new IgnoredInput('no manifest push in this registry notification (pulls, blobs, deletes are not read)');
  return { findings: [], assets, scopes: [] };
}

export const distributionParser: SourceParser = {
  format: 'registry',
  detect: () => false,
  parse,
};
