#!/usr/bin/env node
'use strict';
// In the repository this runs the TypeScript sources directly (SWC keeps Nest's decorator metadata and
// the @klaxon/* paths); copied into dist/ by `npm run build`, it runs the compiled JavaScript beside it.
// V8 lets a busy process's old generation grow to as much as four times what survived its last full
// collection before the next one; Klaxon lets it grow to twice (Go's GOGC=100, Alertmanager's default). On
// Alertmanager's workload (`npm run bench -- versus`) its peak RSS falls from about 365 MiB to 235 MiB, at the
// same CPU within the run-to-run noise. KLAXON_HEAP_GROWING_PERCENT=0 leaves it to V8.
const growing = process.env.KLAXON_HEAP_GROWING_PERCENT ?? '100';
if (!/^\d{1,4}$/.test(growing)) {
  console.error(
    `klaxon: KLAXON_HEAP_GROWING_PERCENT is "${growing}": expected a whole number of percent (100: the heap grows to twice what survived, 0: V8 decides)`,
  );
  process.exit(2);
}
if (growing !== '0') require('node:v8').setFlagsFromString(`--heap-growing-percent=${Number(growing)}`);
const { existsSync } = require('node:fs');
const { join } = require('node:path');
if (!existsSync(join(__dirname, '..', 'src', 'cli.js'))) {
  process.env.SWC_NODE_PROJECT ??= join(__dirname, '..', '..', '..', 'tsconfig.json');
  require('@swc-node/register');
}
require('../src/cli')
  .main(process.argv.slice(2))
  .then((code) => {
    if (code !== 0) process.exitCode = code;
  })
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
