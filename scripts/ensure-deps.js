#!/usr/bin/env node
'use strict';
// `npm start` and `npm test` run this first: on a fresh clone, or after a pull that changed the lock,
// it installs exactly what package-lock.json says (`npm ci`), so those two commands are the whole set-up.
// npm writes node_modules/.package-lock.json at every install: older than the lock means out of date.
const { spawnSync } = require('node:child_process');
const { statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
};

const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
const locked = mtime(join(root, 'package-lock.json'));
if (installed === undefined || (locked !== undefined && locked > installed)) {
  console.error(installed === undefined ? 'node_modules is missing: npm ci' : 'package-lock.json is newer than node_modules: npm ci');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = npm.status ?? 1;
}
