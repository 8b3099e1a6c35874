import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { PlatformModule, Runtime, createLogger, parseConfig } from '@klaxon/platform';
import { ExceptionRepository, type Exception } from '@klaxon/triage';
import { dropPrefix, testPrefix, testRedis } from '../../../../test/support/redis';
import { GatewayModule } from '../gateway.module';
import { keepRawBodies } from '../http/fastify';

/** The exceptions repository as a map: the small in-memory twin a test puts in through the module. */
class InMemoryExceptions implements Pick<ExceptionRepository, 'list' | 'get' | 'put' | 'remove'> {
  readonly byId = new Map<string, Exception>();
  async list() {
    return [...this.byId.values()];
  }
  async get(id: string) {
    return this.byId.get(id);
  }
  async put(exception: Exception) {
    this.byId.set(exception.id, exception);
  }
  async remove(id: string) {
    return this.byId.delete(id);
  }
}

const TOKEN = 'spec-token';

describe('the exceptions API with its repository swapped through the module', () => {
  let redis: Redis;
  let prefix: string;
  let app: NestFastifyApplication;
  let url: string;
  const twin = new InMemoryExceptions();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    redis = testRedis();
    prefix = testPrefix('exceptions-api');
    const config = parseConfig('routes: {}\n', {});
    const runtime = new Runtime(config, [], redis, prefix, createLogger({ level: 'silent' }), () => new Date('2026-11-25T12:00:00Z'), TOKEN);
    const module = await Test.createTestingModule({ imports: [PlatformModule.forRoot(runtime), GatewayModule] })
      .overrideProvider(ExceptionRepository)
      .useValue(twin)
      .compile();
    const adapter = new FastifyAdapter();
    keepRawBodies(adapter.getInstance());
    app = module.createNestApplication<NestFastifyApplication>(adapter, { bodyParser: false, logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('creates, lists and deletes an exception in the twin, and writes no exception to Redis', async () => {
    const body = { match: ['cve = CVE-2026-1111'], reason: 'not reachable', owner: 'sec@example.com', expires: '2026-12-31T00:00:00Z' };
    const created = await api('/v1/exceptions', { method: 'POST', body: JSON.stringify(body) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(twin.byId.get(id)?.reason).toBe('not reachable');

    const listed = (await (await api('/v1/exceptions')).json()) as { items: { id: string; active: boolean }[] };
    expect(listed.items).toEqual([expect.objectContaining({ id, active: true })]);
    expect(await redis.exists(`${prefix}:exceptions`)).toBe(0);

    expect((await api(`/v1/exceptions/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect(twin.byId.size).toBe(0);
  });
});
