import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import {
  ConfigError,
  RedisBinaryMissing,
  createLogger,
  loadConfigFile,
  loadExceptionsFile,
  startEmbeddedRedis,
  type EmbeddedRedis,
} from '@klaxon/platform';
import { APPS, startKlaxon, type AppName } from './klaxon';

const USAGE = `Usage: klaxon <command>

  start [app]               run all four apps (gateway, collector, pipeline, notifier) in one process,
                            or one of them against REDIS_URL
  config validate [file]    check a config file (default: $KLAXON_CONFIG or config/klaxon.yaml)
  help                      this text

Environment: PORT, REDIS_URL (unset: embedded redis-server), KLAXON_CONFIG, KLAXON_API_TOKEN.`;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KLAXON_CONFIG ?? 'config/klaxon.yaml');
}

function loadAll(file: string) {
  const config = loadConfigFile(file);
  const exceptionsFile = config.exceptionsFile ? resolve(config.exceptionsFile) : undefined;
  const exceptions = exceptionsFile && existsSync(exceptionsFile) ? loadExceptionsFile(exceptionsFile) : [];
  return { config, exceptions };
}

async function start(args: string[], out: Console): Promise<number> {
  const only = args[0] as AppName | undefined;
  if (only && !APPS.includes(only)) {
    out.error(`klaxon start: unknown app "${only}" (one of ${APPS.join(', ')})`);
    return 2;
  }
  const { config, exceptions } = loadAll(configPath());
  const logger = createLogger();
  let redisUrl = process.env.REDIS_URL || config.redis.url;
  let embedded: EmbeddedRedis | undefined;
  if (!redisUrl) {
    if (only) {
      out.error(`klaxon start ${only}: set REDIS_URL to the Redis the other apps use (a single app never starts its own).`);
      return 2;
    }
    embedded = await startEmbeddedRedis({ dir: resolve('.data/redis') });
    redisUrl = embedded.url;
    logger.info({ url: redisUrl, dir: '.data/redis' }, 'embedded redis-server started (append-only file on)');
  }
  let klaxon;
  try {
    klaxon = await startKlaxon({ config, exceptions, redisUrl, apps: only ? [only] : APPS, logger, port: process.env.PORT ? Number(process.env.PORT) : undefined });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  if (klaxon.url) logger.info(`gateway listening on ${klaxon.url}`);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: no new requests, finishing running jobs');
      void klaxon
        .close()
        .then(() => embedded?.stop())
        .finally(done);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

function validateConfig(args: string[], out: Console): number {
  const file = resolve(args[0] ?? configPath());
  const { config, exceptions } = loadAll(file);
  out.log(
    `${file}: valid (${Object.keys(config.destinations).length} destinations, ${config.routes.routes.length} top-level routes, ${exceptions.length} exceptions)`,
  );
  return 0;
}

/** Runs one CLI command; returns the exit code. Errors a user can fix are printed, not thrown. */
export async function main(argv: string[], out: Console = console): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(rest, out);
      case 'config':
        if (rest[0] === 'validate') return validateConfig(rest.slice(1), out);
        out.error(USAGE);
        return 2;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        out.error(`klaxon: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RedisBinaryMissing) {
      out.error(err.message);
      return 1;
    }
    throw err;
  }
}
