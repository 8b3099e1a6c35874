import type { FastifyInstance } from 'fastify';

/**
 * The gateway keeps request bodies as text: a report is stored exactly as received before anything
 * parses it, and each endpoint validates its own JSON at the edge.
 */
export function keepRawBodies(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    [
      'application/json',
      'application/x-ndjson',
      'application/jsonl',
      'text/plain',
      'application/sarif+json',
      'application/cloudevents+json',
      // What a plain registry (distribution/distribution) sends its notification envelopes as.
      'application/vnd.docker.distribution.events.v1+json',
      'application/vnd.docker.distribution.events.v2+json',
    ],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );
}
