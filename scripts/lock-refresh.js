#!/usr/bin/env node
'use strict';
// Rewrites package-lock.json so that `npm ci` accepts it on Linux, macOS and Windows, then checks it.
// npm computes the lock from the installed tree when node_modules exists, and the installed tree lacks
// the other platforms' optional packages; resolved in a folder without node_modules, the lock records
// them all. Versions already locked are kept (only what package.json added or changed is resolved);
// `--fresh` resolves everything anew. Run it after adding a dependency or merging branches that did,
// then `npm ci` (or `npm install`) to bring node_modules in line.
const { spawnSync } = require('node:child_process');
const { copyFileSync, existsSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const fresh = process.argv.includes('--fresh');
const work = mkdtempSync(join(tmpdir(), 'klaxon-lock-'));
try {
  copyFileSync(join(root, 'package.json'), join(work, 'package.json'));
  if (!fresh && existsSync(join(root, 'package-lock.json'))) copyFileSync(join(root, 'package-lock.json'), join(work, 'package-lock.json'));
  if (existsSync(join(root, '.npmrc'))) copyFileSync(join(root, '.npmrc'), join(work, '.npmrc'));
  const npm = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: work,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (npm.status !== 0) process.exit(npm.status ?? 1);
  copyFileSync(join(work, 'package-lock.json'), join(root, 'package-lock.json'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = require('./lock-check').main([]);
