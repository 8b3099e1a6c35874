#!/usr/bin/env node
'use strict';
// In the repository this runs the TypeScript sources directly (SWC keeps Nest's decorator metadata and
// the @klaxon/* paths); copied into dist/ by `npm run build`, it runs the compiled JavaScript beside it.
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
