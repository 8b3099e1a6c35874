#!/usr/bin/env node
'use strict';
// Runs a TypeScript file of the project (benchmarks, scripts) with the same loader as the CLI.
const { join, resolve } = require('node:path');
process.env.SWC_NODE_PROJECT ??= join(__dirname, '..', '..', '..', 'tsconfig.json');
require('@swc-node/register');
require(resolve(process.argv[2]));
