#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources directly (SWC keeps Nest's decorator metadata and the @klaxon/* paths).
const { join } = require('node:path');
process.env.SWC_NODE_PROJECT ??= join(__dirname, '..', '..', '..', 'tsconfig.json');
require('@swc-node/register');
require('../src/cli')
  .main(process.argv.slice(2))
  .then((code) => {
    if (code !== 0) process.exitCode = code;
  })
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
