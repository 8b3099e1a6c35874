import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = resolve(__dirname, '..');
const alias = Object.fromEntries(
  ['findings', 'sources', 'triage', 'routing', 'destinations', 'feedback', 'gate', 'platform'].map((lib) => [
    `@klaxon/${lib}`,
    resolve(root, `libs/${lib}/src`),
  ]),
);
for (const app of ['gateway', 'collector', 'pipeline', 'notifier']) {
  alias[`@klaxon/${app}`] = resolve(root, `apps/${app}/src`);
}

export default defineConfig({
  // SWC instead of esbuild: Nest's dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { alias },
  test: {
    root,
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.spec.ts'],
    globalSetup: ['test/setup/redis.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
