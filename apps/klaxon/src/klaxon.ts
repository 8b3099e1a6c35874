import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CollectorModule } from '@klaxon/collector';
import { GatewayModule, keepRawBodies, limitIntakeRates, mountDashboards, mountWebUi } from '@klaxon/gateway';
import { NotifierModule } from '@klaxon/notifier';
import { PipelineModule } from '@klaxon/pipeline';
import { openIntegrations } from '@klaxon/sources';
import {
  PlatformModule,
  Runtime,
  assertNoEviction,
  redisMemoryAdvice,
  createLogger,
  createRedis,
  resolveCredentials,
  type ExceptionConfig,
  type KlaxonConfig,
  type Logger,
} from '@klaxon/platform';

export const APPS = ['gateway', 'collector', 'pipeline', 'notifier'] as const;
export type AppName = (typeof APPS)[number];

const MODULES: Record<AppName, unknown> = {
  gateway: GatewayModule,
  collector: CollectorModule,
  pipeline: PipelineModule,
  notifier: NotifierModule,
};

export interface KlaxonOptions {
  config: KlaxonConfig;
  exceptions?: ExceptionConfig[];
  redisUrl: string;
  apps?: readonly AppName[];
  /** Key prefix in Redis (default `klaxon`); tests use one per run. */
  prefix?: string;
  /** Overrides config.server.port; 0 picks a free port. */
  port?: number;
  host?: string;
  logger?: Logger;
  clock?: () => Date;
  /** Where a generated API token is written when the config has none (default `.data/api-token`). */
  generatedTokenFile?: string;
  /** Where `auth.tokens[].tokenEnv` are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface Klaxon {
  runtime: Runtime;
  /** Base URL of the gateway when it runs in this process. */
  url?: string;
  close(): Promise<void>;
}

@Module({})
class KlaxonModule {
  static for(runtime: Runtime, apps: readonly AppName[]): DynamicModule {
    return { module: KlaxonModule, imports: [PlatformModule.forRoot(runtime), ...apps.map((a) => MODULES[a] as never)] };
  }
}

/**
 * Starts the named apps (all four by default) in this process against one Redis. Closing stops HTTP
 * first, lets workers finish their jobs, then closes Redis.
 */
export async function startKlaxon(options: KlaxonOptions): Promise<Klaxon> {
  const apps = options.apps ?? APPS;
  const logger = options.logger ?? createLogger();
  const tokens = resolveCredentials({ ...options.config.auth, apiToken: undefined }, options.env);
  const redis = createRedis(options.redisUrl, apps.join('+'));
  await assertNoEviction(redis);
  const advice = await redisMemoryAdvice(redis);
  if (advice) logger.warn(advice);
  let apiToken = options.config.auth.apiToken;
  if (!apiToken && apps.includes('gateway')) {
    apiToken = randomBytes(24).toString('base64url');
    // Secrets never go to the log: the generated token goes to a file only its owner can read.
    const file = resolve(options.generatedTokenFile ?? '.data/api-token');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${apiToken}\n`, { mode: 0o600 });
    logger.warn({ file }, 'auth.apiToken (KLAXON_API_TOKEN) is not set: this run accepts a generated token, written to the file named here');
  }
  if (apps.includes('gateway')) {
    const open = openIntegrations(options.config.sources);
    if (open.length) {
      logger.warn(
        { integrations: open },
        'these webhooks accept requests from anyone (allowUnauthenticated: true): set their token or secret under sources.<name>',
      );
    }
  }
  const credentials = [...(apiToken ? [{ name: 'KLAXON_API_TOKEN', scope: 'admin' as const, repos: [], token: apiToken }] : []), ...tokens];
  const runtime = new Runtime(options.config, options.exceptions ?? [], redis, options.prefix ?? 'klaxon', logger, options.clock, apiToken, credentials);
  const root = KlaxonModule.for(runtime, apps);

  let context: INestApplicationContext;
  let url: string | undefined;
  let http: NestFastifyApplication | undefined;
  try {
    if (apps.includes('gateway')) {
      const adapter = new FastifyAdapter({ bodyLimit: options.config.server.maxBodyBytes });
      keepRawBodies(adapter.getInstance());
      http = await NestFactory.create<NestFastifyApplication>(root, adapter, {
        logger: ['error', 'warn'],
        abortOnError: false,
        bodyParser: false,
      });
      await limitIntakeRates(http, runtime);
      await mountWebUi(http);
      await mountDashboards(http, runtime);
      await http.listen(options.port ?? options.config.server.port, options.host ?? '0.0.0.0');
      const address = http.getHttpServer().address() as { port: number };
      url = `http://127.0.0.1:${address.port}`;
      context = http;
    } else {
      context = await NestFactory.createApplicationContext(root, { logger: ['error', 'warn'], abortOnError: false });
    }
  } catch (err) {
    await redis.quit().catch(() => undefined);
    throw err;
  }
  logger.info({ apps, url }, 'klaxon started');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (http) await http.getHttpAdapter().getInstance().close();
      await context.close();
      await redis.quit();
      logger.info('klaxon stopped');
    })());
  return { runtime, url, close };
}
