import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import IORedis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../support/redis';
import { waitFor } from '../support/wait';

const root = resolve(__dirname, '../..');
// A database of its own on the test Redis: the started app uses the default key prefix.
const DB = 11;

const filesUnder = (dir: string, from = root): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.parentPath.includes('node_modules'))
    .map((e) => relative(from, join(e.parentPath, e.name)));

describe('the production build: compiled JavaScript that starts without TypeScript', () => {
  const out = mkdtempSync(join(tmpdir(), 'klaxon-build-'));
  afterAll(async () => {
    const redis = new IORedis(`${testRedisUrl()}/${DB}`);
    await redis.flushdb();
    redis.disconnect();
    rmSync(out, { recursive: true, force: true });
  });

  it('compiles apps and libs to JavaScript with the @klaxon/* paths resolved, and copies the assets', () => {
    const build = spawnSync(process.execPath, [join(root, 'scripts/build.js'), '--out', out], { encoding: 'utf8' });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);

    const klaxon = readFileSync(join(out, 'apps/klaxon/src/klaxon.js'), 'utf8');
    expect(klaxon).toContain('require("../../gateway/src")');
    expect(klaxon).not.toMatch(/require\("@klaxon\//);
    // Every other file the apps read at run time (rule YAML, .lua scripts, static web files, the bin).
    const assets = ['apps', 'libs'].flatMap((top) => filesUnder(join(root, top))).filter((f) => !f.endsWith('.ts'));
    expect(assets).toEqual(expect.arrayContaining(['libs/feedback/src/rules/hardening.yaml', 'apps/klaxon/bin/klaxon.js']));
    for (const asset of assets) expect(existsSync(join(out, asset)), asset).toBe(true);
    expect(existsSync(join(out, 'apps/klaxon/src/cli.spec.js'))).toBe(false);
  });

  it('`klaxon start` from the build answers /healthz and stops cleanly on SIGTERM', async () => {
    // The image's layout: node_modules beside the compiled tree, nothing of the sources.
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'junction');
    const data = join(out, 'data');
    const before = filesUnder(out, out).sort();
    const app = spawn(process.execPath, [join(out, 'apps/klaxon/bin/klaxon.js'), 'start'], {
      cwd: out,
      env: { PATH: process.env.PATH, PORT: '0', REDIS_URL: `${testRedisUrl()}/${DB}`, KLAXON_CONFIG: join(root, 'config/klaxon.yaml'), KLAXON_DATA_DIR: data },
    });
    let output = '';
    app.stdout.on('data', (chunk) => (output += chunk));
    app.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => app.on('exit', (code) => done(code)));
    try {
      const url = await waitFor(() => /gateway listening on (http:\/\/[\d.:]+)/.exec(output)?.[1], 'the gateway to listen', 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; it printed:\n${output}`);
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // No API token configured: the generated one goes to the data folder, the only place written.
      expect(readFileSync(join(data, 'api-token'), 'utf8')).toMatch(/^\S{32}\n$/);
    } finally {
      app.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // What a read-only root filesystem needs: nothing written beside the code, only in KLAXON_DATA_DIR.
    expect(
      filesUnder(out, out)
        .filter((f) => !f.startsWith('data/'))
        .sort(),
    ).toEqual(before);
    expect(output).not.toMatch(/"level":(50|60)/);
  });
});
