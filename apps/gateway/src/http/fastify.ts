import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { YAML_MEDIA_TYPES } from '@klaxon/sources';

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
  // YAML only where Kubernetes resources are uploaded; everywhere else it stays a type the gateway does not read.
  fastify.addContentTypeParser(YAML_MEDIA_TYPES, { parseAs: 'string' }, (request, body, done) => {
    if (request.routeOptions.url === YAML_ROUTE) return done(null, body);
    done(new UnsupportedMediaTypeException(`Unsupported Media Type: ${request.headers['content-type'] ?? ''}`));
  });
}

/** The one route that reads YAML bodies: report uploads, for the formats that are Kubernetes resources. */
export const YAML_ROUTE = '/v1/reports';
