import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** `klaxon start` as an operator runs it: its own process, its config in a file, Redis from REDIS_URL. */
export class ChildKlaxon {
  private exitCode: Promise<number | null>;
  /** The last lines it wrote to stderr, for a failing test's message. */
  stderr = '';

  private constructor(
    readonly process: ChildProcess,
    readonly url: string,
  ) {
    this.exitCode = new Promise((done) => process.once('exit', (code, signal) => done(signal ? null : code)));
    process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  /** Writes the config to a temp dir (also the process's working directory, for its `.data`). */
  static configDir(configYaml: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'klaxon-child-'));
    writeFileSync(join(dir, 'klaxon.yaml'), configYaml);
    return dir;
  }

  static start(dir: string, env: { REDIS_URL: string; PORT: number } & Record<string, string | number>): ChildKlaxon {
    const child = spawn(process.execPath, [join(ROOT, 'apps/klaxon/bin/klaxon.js'), 'start'], {
      cwd: dir,
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        KLAXON_API_TOKEN: 'child-api-token',
        KLAXON_CONFIG: join(dir, 'klaxon.yaml'),
        SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return new ChildKlaxon(child, `http://127.0.0.1:${env.PORT}`);
  }

  /** Resolves once /healthz answers; rejects when the process exits first or the time runs out. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exitCode.then(() => (exited = true));
    while (Date.now() < deadline && !exited) {
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`klaxon did not become ready${exited ? ' (it exited)' : ''}:\n${this.stderr}`);
  }

  /** Exit code, or null when a signal ended it. */
  exited(): Promise<number | null> {
    return this.exitCode;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.process.kill(signal);
    await this.exitCode;
  }
}
