import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis, Result } from 'ioredis';
import type { Runtime } from '@klaxon/platform';

const COUNT_INTAKE = readFileSync(resolve(__dirname, 'lua/count-intake.lua'), 'utf8');

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
 * @fastify/rate-limit's store for the intake: each source's count at `<prefix>:rate-limit:<source>`
 * in Klaxon's Redis. The library's own Redis store names the keys of a limiter made with
 * `createRateLimit` after a route it does not have (`…:rate-limit:undefinedundefined-<source>`).
 */
export function intakeStore(redis: Redis, namespace: string): FastifyRateLimitStoreCtor {
  if (!redis.countIntake) redis.defineCommand('countIntake', { numberOfKeys: 1, lua: COUNT_INTAKE });
  return class IntakeStore implements FastifyRateLimitStore {
    incr(source: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      redis.countIntake(`${namespace}${source}`, timeWindow).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (error: Error) => callback(error),
      );
    }

    /** One count per source, whichever limiter asks. */
    child(): FastifyRateLimitStore {
      return this;
    }
  };
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
  await fastify.register(rateLimit, { global: false, store: intakeStore(runtime.redis, `${prefix}:rate-limit:`) });
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    countIntake(key: string, windowMs: number): Result<[number, number], Context>;
  }
}
