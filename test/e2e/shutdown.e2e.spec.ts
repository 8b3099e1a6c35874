import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@klaxon/platform';
import { ChildKlaxon } from '../support/child-klaxon';

/** A redis-server of this test's own, so it can be frozen (SIGSTOP) or killed without touching the shared one. */
async function ownRedis(): Promise<{ process: ChildProcess; url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-shutdown-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server exited:\n${out}`)));
  });
  child.stdout!.resume();
  return { process: child, url: `redis://127.0.0.1:${port}` };
}

const GRACE_MS = 2_000;
/** Process start-up and exit cost on a busy machine, on top of the grace; a hang lasts minutes. */
const SLACK_MS = 10_000;

describe('SIGTERM', () => {
  let redis: { process: ChildProcess; url: string } | undefined;
  afterEach(() => {
    redis?.process.kill('SIGCONT');
    redis?.process.kill('SIGKILL');
  });

  it.each([
    ['frozen (SIGSTOP: connections stay open, nothing answers)', 'SIGSTOP'],
    ['gone (killed: every reconnect is refused)', 'SIGKILL'],
  ] as const)('ends the process within the grace period while Redis is %s', { timeout: 120_000 }, async (_, signal) => {
    redis = await ownRedis();
    const dir = ChildKlaxon.configDir(`server:\n  shutdownGraceMs: ${GRACE_MS}\nroutes: {}\n`);
    const app = ChildKlaxon.start(dir, { REDIS_URL: redis.url, PORT: await freePort() });
    await app.ready();

    redis.process.kill(signal);
    // Long enough for the app to notice: its workers' blocking reads time out and it starts reconnecting.
    await new Promise((r) => setTimeout(r, 8_000));
    const sent = Date.now();
    app.process.kill('SIGTERM');
    const code = await Promise.race([app.exited(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), GRACE_MS + SLACK_MS))]);
    const tookMs = Date.now() - sent;
    console.info(`SIGTERM with Redis ${signal}: exit ${code} after ${tookMs} ms`);
    if (code === 'hung') await app.kill('SIGKILL');
    expect(code).not.toBe('hung');
    expect(tookMs).toBeLessThan(GRACE_MS + SLACK_MS);
  });
});
