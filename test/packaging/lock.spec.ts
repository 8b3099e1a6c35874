import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const lockText = readFileSync(join(root, 'package-lock.json'), 'utf8');
const lock = JSON.parse(lockText) as { packages: Record<string, { optionalDependencies?: Record<string, string> }> };
const check = (...args: string[]) => spawnSync(process.execPath, [join(root, 'scripts/lock-check.js'), ...args], { encoding: 'utf8' });

describe('package-lock.json is one npm ci accepts on Linux, macOS and Windows', () => {
  it.each([
    ['@swc/core', ['@swc/core-darwin-arm64', '@swc/core-darwin-x64', '@swc/core-win32-x64-msvc', '@swc/core-linux-x64-musl']],
    ['rollup', ['@rollup/rollup-darwin-arm64', '@rollup/rollup-win32-x64-msvc', '@rollup/rollup-linux-x64-gnu']],
    ['msgpackr-extract', ['@msgpackr-extract/msgpackr-extract-darwin-arm64', '@msgpackr-extract/msgpackr-extract-win32-x64']],
  ])('holds every platform package %s may load', (owner, platforms) => {
    const optional = Object.keys(lock.packages[`node_modules/${owner}`]?.optionalDependencies ?? {});
    expect(optional).toEqual(expect.arrayContaining(platforms));
    for (const name of optional) expect(lock.packages, name).toHaveProperty([`node_modules/${name}`]);
  });

  it('passes the lock check: every edge resolves and the root matches package.json', () => {
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the check names a platform package that a rewrite over node_modules dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'klaxon-lock-'));
    const dropped = JSON.parse(lockText) as typeof lock;
    delete dropped.packages['node_modules/@swc/core-darwin-arm64'];
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(dropped));

    const result = check('--lock', join(dir, 'package-lock.json'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('@swc/core-darwin-arm64, needed by node_modules/@swc/core, is missing from the lock');
  });

  it('the check names a dependency added to package.json but not locked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'klaxon-lock-'));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    pkg.dependencies['left-pad'] = '^1.3.0';
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));

    const result = check('--package', join(dir, 'package.json'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^lock: dependencies: package\.json has .*"left-pad".*run npm run lock:refresh/m);
  });

  it('CI installs with npm ci, as a fresh clone and an image build do', () => {
    const ci = readFileSync(join(root, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).not.toMatch(/^npm install\b/m);
  });
});
