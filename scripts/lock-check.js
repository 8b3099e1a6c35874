#!/usr/bin/env node
'use strict';
// Checks that package-lock.json is one `npm ci` accepts on every platform: the root entry declares
// what package.json declares, and every dependency edge — optional ones included — resolves to a
// package in the lock. An npm that rewrites the lock over an existing node_modules drops the optional
// packages of other platforms (@swc/core-darwin-arm64, @rollup/rollup-win32-x64-msvc, …); `npm ci`
// on those platforms then stops with "Missing: … from lock file".
// Usage: node scripts/lock-check.js [--lock package-lock.json] [--package package.json]
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

function problems(lock, pkg) {
  const found = [];
  const packages = lock.packages ?? {};
  const root = packages[''] ?? {};
  for (const field of FIELDS) {
    const declared = JSON.stringify(sorted(pkg[field]));
    const locked = JSON.stringify(sorted(root[field]));
    if (declared !== locked) found.push(`${field}: package.json has ${declared}, the lock has ${locked} (run npm run lock:refresh)`);
  }
  for (const [path, entry] of Object.entries(packages)) {
    if (entry.link) continue;
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const wanted = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers[name]?.optional),
    ];
    if (path === '') wanted.push(...Object.keys(entry.devDependencies ?? {}));
    for (const name of wanted) {
      if (!resolves(packages, path, name)) found.push(`${name}, needed by ${path || 'package.json'}, is missing from the lock`);
    }
  }
  return found;
}

/** Node's lookup: node_modules/<name> beside the package, then in each folder above it. */
function resolves(packages, from, name) {
  let dir = from;
  for (;;) {
    if (packages[`${dir ? `${dir}/` : ''}node_modules/${name}`]) return true;
    if (!dir) return false;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

function sorted(record) {
  return Object.fromEntries(Object.entries(record ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

function main(argv) {
  const root = join(__dirname, '..');
  const arg = (flag, fallback) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const lockPath = arg('--lock', join(root, 'package-lock.json'));
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  const pkg = JSON.parse(readFileSync(arg('--package', join(root, 'package.json')), 'utf8'));
  const found = problems(lock, pkg);
  for (const p of found) console.error(`lock: ${p}`);
  if (found.length) return 1;
  console.log(`lock: ${Object.keys(lock.packages).length - 1} packages, every platform's optional packages included`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
module.exports = { problems, main };
