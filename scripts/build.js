#!/usr/bin/env node
'use strict';
// `npm run build` (`-- --out <dir>` for another folder): apps/ and libs/ compiled to CommonJS in dist/,
// ready for `node dist/apps/klaxon/bin/klaxon.js start`.
// The compiler is @swc/core with the options the sources already run under in development
// (@swc-node/register) and in the tests (unplugin-swc): Nest's decorator metadata kept, the @klaxon/*
// paths of tsconfig.json rewritten to relative requires. Every other file (.lua scripts, rule YAML,
// the CLI's bin) is copied as it is. Types are checked by `npm run typecheck`, not here.
const { transformFile } = require('@swc/core');
const { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const root = join(__dirname, '..');
const argv = process.argv.slice(2);
const out = argv.includes('--out') ? resolve(argv[argv.indexOf('--out') + 1]) : join(root, 'dist');
const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));

const swcOptions = (filename) => ({
  filename,
  swcrc: false,
  sourceMaps: true,
  module: { type: 'commonjs' },
  jsc: {
    target: compilerOptions.target.toLowerCase(),
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
    keepClassNames: true,
    baseUrl: root,
    paths: compilerOptions.paths,
  },
});

const isTest = (file) => /\.(spec|e2e-spec|test)\.ts$/.test(file);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

async function build() {
  rmSync(out, { recursive: true, force: true });
  let compiled = 0;
  let copied = 0;
  const jobs = [];
  for (const top of ['apps', 'libs']) {
    for (const file of files(join(root, top))) {
      if (file.endsWith('.d.ts') || isTest(file)) continue;
      const target = join(out, relative(root, file));
      mkdirSync(dirname(target), { recursive: true });
      if (file.endsWith('.ts')) {
        const js = target.replace(/\.ts$/, '.js');
        jobs.push(
          transformFile(file, swcOptions(file)).then(({ code, map }) => {
            writeFileSync(js, `${code}\n//# sourceMappingURL=${relative(dirname(js), `${js}.map`)}\n`);
            if (map) writeFileSync(`${js}.map`, map);
            compiled++;
          }),
        );
      } else {
        copyFileSync(file, target);
        copied++;
      }
    }
  }
  await Promise.all(jobs);
  console.log(`build: ${compiled} files compiled, ${copied} copied, into ${relative(process.cwd(), out) || '.'}`);
}

build().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
