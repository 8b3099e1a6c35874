import { join, resolve } from 'node:path';
import { createLogger, startEmbeddedRedis, type EmbeddedRedis } from '@klaxon/platform';
import { APPS, startKlaxon, type AppName } from '../klaxon';
import type { Command } from './command';
import { configPath, loadAll } from './load-config';

export const startCommand: Command = {
  name: 'start',
  usage: [
    'start [app]               run all four apps (gateway, collector, pipeline, notifier) in one process,',
    '                          or one of them against REDIS_URL',
  ],
  run: start,
};

async function start(args: string[], out: Console): Promise<number> {
  const only = args[0] as AppName | undefined;
  if (only && !APPS.includes(only)) {
    out.error(`klaxon start: unknown app "${only}" (one of ${APPS.join(', ')})`);
    return 2;
  }
  const { config, exceptions } = loadAll(configPath());
  const logger = createLogger();
  // The one folder Klaxon writes to (embedded Redis, generated API token): a volume in a container.
  const dataDir = resolve(process.env.KLAXON_DATA_DIR || '.data');
  let redisUrl = process.env.REDIS_URL || config.redis.url;
  let embedded: EmbeddedRedis | undefined;
  if (!redisUrl) {
    if (only) {
      out.error(`klaxon start ${only}: set REDIS_URL to the Redis the other apps use (a single app never starts its own).`);
      return 2;
    }
    embedded = await startEmbeddedRedis({ dir: join(dataDir, 'redis') });
    redisUrl = embedded.socket ?? embedded.url;
    logger.info({ url: embedded.url, socket: embedded.socket, dir: join(dataDir, 'redis') }, 'embedded redis-server started (append-only file on)');
  }
  let klaxon;
  try {
    klaxon = await startKlaxon({
      config,
      exceptions,
      redisUrl,
      apps: only ? [only] : APPS,
      logger,
      generatedTokenFile: join(dataDir, 'api-token'),
      port: process.env.PORT ? Number(process.env.PORT) : undefined,
    });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  if (klaxon.url) logger.info(`gateway listening on ${klaxon.url}`);
  const graceMs = config.server.shutdownGraceMs;
  return new Promise<number>((done) => {
    const stop = (signal: string) => {
      logger.info({ signal, graceMs }, 'shutting down: no new requests, finishing running jobs');
      // Closing waits on Redis (running jobs, their completion, the queues), which may not answer at all.
      // After the grace the process goes anyway: jobs it still held are taken up again by any worker
      // once their locks lapse (BullMQ's stalled-job recovery), so none is lost.
      const deadline = setTimeout(() => {
        logger.warn({ graceMs }, 'shutdown grace elapsed: exiting, unfinished jobs are left to other workers');
        void embedded?.stop();
        // Sockets to an unresponsive Redis would keep the event loop alive: leave now.
        process.exit(1);
      }, graceMs);
      void klaxon
        .close()
        .then(() => embedded?.stop())
        .then(
          () => done(0),
          (err: Error) => {
            logger.error({ err: err.message }, 'shutdown failed');
            done(1);
          },
        )
        .finally(() => clearTimeout(deadline));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
