import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { EventRepository, parseConfig, type Runtime } from '@klaxon/platform';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import type { IntakeService } from '../reports/intake.service';
import { WebhooksController } from './webhooks.controller';

const SECRET = 'gh-secret';
const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
const headers = {
  'x-github-event': 'ping',
  'x-github-delivery': 'delivery-42',
  'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
  'content-type': 'application/json',
};

describe('webhook redeliveries after a failed intake', () => {
  let redis: Redis;
  let prefix: string;
  let events: EventRepository;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('webhooks');
    events = new EventRepository(redis, prefix);
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('processes the sender’s retry when the first attempt failed before it was queued', async () => {
    const runtime = { config: parseConfig(`sources:\n  github:\n    secret: ${SECRET}\nroutes: {}\n`, {}), events } as unknown as Runtime;
    let attempts = 0;
    const queued = new Set<string>();
    const intake = {
      accept: async (_intake: unknown, eventId: string) => {
        if (++attempts === 1) throw new Error('Redis went away while queueing');
        queued.add(eventId);
        return { eventId, format: 'github' };
      },
      wasTakenIn: async (eventId: string) => queued.has(eventId),
    } as unknown as IntakeService;
    const controller = new WebhooksController(intake, runtime);
    const reply = { status: () => reply } as never;
    const request = { body } as never;

    await expect(controller.receive('github', request, headers, reply, {})).rejects.toThrow('Redis went away');
    const retry = (await controller.receive('github', request, headers, reply, {})) as { eventId: string; duplicate?: boolean };
    expect(retry.duplicate).toBeUndefined();
    expect(attempts).toBe(2);
    const redelivery = (await controller.receive('github', request, headers, reply, {})) as { eventId: string; duplicate?: boolean };
    expect(redelivery).toEqual({ eventId: retry.eventId, duplicate: true });
  });
});
