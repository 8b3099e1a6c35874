import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer } from 'node:net';
import { HASH_MAX_LISTPACK_VALUE } from './connection';

export interface EmbeddedRedis {
  url: string;
  port: number;
  /**
   * Its unix socket, when the data dir's path is short enough for one: what Klaxon connects to, since a
   * command over loopback TCP costs about half again as much CPU on both sides (ioredis takes a path for
   * a URL). The TCP port stays for redis-cli and tools.
   */
  socket?: string;
  stop(): Promise<void>;
}

/** Unix socket paths are limited to 107 bytes (sockaddr_un); a longer data dir keeps TCP only. */
const MAX_SOCKET_PATH = 100;

export class RedisBinaryMissing extends Error {
  constructor(binary: string) {
    super(
      `Klaxon needs Redis and none is configured: REDIS_URL is unset and "${binary}" is not on PATH. ` +
        'Install it (apt-get install redis-server, brew install redis, dnf install redis) ' +
        'or run one with "docker compose up -d redis" and set REDIS_URL=redis://127.0.0.1:6379.',
    );
    this.name = 'RedisBinaryMissing';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}:\n${output}`));
    });
  });
}

/**
 * Starts a private redis-server on a free loopback port and a unix socket in `dir`, with its data in `dir`. Append-only file on
 * (state must survive restarts), eviction off (BullMQ requires noeviction).
 */
export async function startEmbeddedRedis(opts: { dir: string; appendOnly?: boolean; binary?: string }): Promise<EmbeddedRedis> {
  const binary = opts.binary ?? 'redis-server';
  if (spawnSync(binary, ['--version']).error) throw new RedisBinaryMissing(binary);
  mkdirSync(opts.dir, { recursive: true });
  const port = await freePort();
  const socketPath = resolve(opts.dir, 'redis.sock');
  const socket = Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH ? socketPath : undefined;
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      opts.dir,
      '--appendonly',
      opts.appendOnly === false ? 'no' : 'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      // A finding's hash holds its report JSON (1-8 KB): kept compact (listpack) instead of a hash table,
      // it takes about 30 % less memory. docs/redis.md, "Memory".
      '--hash-max-listpack-value',
      HASH_MAX_LISTPACK_VALUE,
      '--protected-mode',
      'yes',
      // Only this user may connect through the socket, as only loopback clients may through the port.
      ...(socket ? ['--unixsocket', socket, '--unixsocketperm', '700'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForReady(child, 10_000);
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
