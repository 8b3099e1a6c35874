import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '@klaxon/platform';

const WEBHOOK = /^\/v1\/webhooks\/([^/?]+)/;

/** The source an intake request counts against: a webhook's sender, report uploads, or the gate. */
export function intakeSourceOf(url: string): string | undefined {
  const webhook = WEBHOOK.exec(url);
  if (webhook) return decodeURIComponent(webhook[1]);
  if (/^\/v1\/reports(?:[/?]|$)/.test(url)) return 'reports';
  if (/^\/v1\/gate(?:[/?]|$)/.test(url)) return 'gate';
  return undefined;
}

/**
 * Per-source limits on the intake (`server.intakeRateLimit`): each webhook sender, report uploads and
 * the gate have their own per-minute budget, counted in Redis so every gateway replica shares it
 * (@fastify/rate-limit's fixed window). Over it: 429 with Retry-After, in the API's error shape,
 * before the body is read or anything is stored.
 */
export async function limitIntakeRates(app: NestFastifyApplication, runtime: Runtime): Promise<void> {
  // Nest's adapter is typed against its own copy of fastify: same runtime API.
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  const { perMinute, sources } = runtime.config.server.intakeRateLimit;
  const { prefix } = runtime;
  await fastify.register(rateLimit, { global: false, redis: runtime.redis, nameSpace: `${prefix}:rate-limit:` });
  const limiter = fastify.createRateLimit({
    timeWindow: 60_000,
    keyGenerator: (request) => intakeSourceOf(request.url) ?? '',
    max: (_request, source) => sources[source] ?? perMinute,
  });
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const source = intakeSourceOf(request.url);
    if (!source || request.method !== 'POST') return;
    const verdict = await limiter(request);
    // isAllowed means allow-listed; a counted request passes until it is over the limit.
    if (verdict.isAllowed || !verdict.isExceeded) return;
    await reply
      .code(429)
      .header('retry-after', String(verdict.ttlInSeconds))
      .send({
        error: 'rate_limited',
        message: `source: ${source} is over its ${verdict.max} requests a minute (server.intakeRateLimit); retry in ${verdict.ttlInSeconds}s`,
        field: 'source',
        retryAfterSeconds: verdict.ttlInSeconds,
      });
  });
}
