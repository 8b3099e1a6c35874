import { createLogger } from '@klaxon/platform';
import { parseConfig } from '@klaxon/destinations';
import { startKlaxon, type Klaxon, type KlaxonOptions } from '../../apps/klaxon/src/klaxon';
import { testPrefix, testRedisUrl } from './redis';

export const API_TOKEN = 'test-api-token';

export interface TestKlaxon extends Klaxon {
  url: string;
  /** fetch against the gateway with the API token. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

/** The whole app in this process against the private test Redis, under its own key prefix. */
export async function startTestKlaxon(configYaml: string, options: Partial<KlaxonOptions> = {}): Promise<TestKlaxon> {
  const config = parseConfig(configYaml, { KLAXON_API_TOKEN: API_TOKEN });
  config.auth.apiToken ??= API_TOKEN;
  const klaxon = await startKlaxon({
    config,
    redisUrl: testRedisUrl(),
    prefix: testPrefix('e2e'),
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ level: process.env.LOG_LEVEL ?? 'silent' }),
    ...options,
  });
  const url = klaxon.url!;
  return {
    ...klaxon,
    url,
    api: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${API_TOKEN}`);
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers.set('content-type', 'application/json');
      }
      return fetch(`${url}${path}`, { ...init, headers, body });
    },
  };
}

/** Runs `fn` against an app started for it, and closes the app whatever happens. */
export async function withTestKlaxon<T>(configYaml: string, fn: (klaxon: TestKlaxon) => Promise<T>, options: Partial<KlaxonOptions> = {}): Promise<T> {
  const klaxon = await startTestKlaxon(configYaml, options);
  try {
    return await fn(klaxon);
  } finally {
    await klaxon.close();
  }
}
