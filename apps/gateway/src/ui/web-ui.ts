import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { dirname, join, resolve } from 'node:path';

/** The browser libraries the dashboard imports, served from the installed packages: no CDN at run time. */
const VENDOR: Record<string, string> = {
  'preact.mjs': 'preact/dist/preact.module.js',
  'preact-hooks.mjs': 'preact/hooks/dist/hooks.module.js',
  'htm.mjs': 'htm/dist/htm.module.js',
  'uplot.mjs': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

function packageFile(spec: string): string {
  const [scope, ...rest] = spec.split('/');
  // The package root from its main entry: subpaths are not all in the packages' export maps.
  const main = require.resolve(scope);
  let root = dirname(main);
  while (!root.endsWith(`node_modules/${scope}`) && dirname(root) !== root) root = dirname(root);
  return join(root, ...rest);
}

/**
 * The dashboard: static ES modules under `/ui/` (no build step), the vendor modules under `/ui/vendor/`,
 * and cookie parsing for its session. `/` leads to it.
 */
export async function mountWebUi(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyCookie as never);
  const files = Object.fromEntries(Object.entries(VENDOR).map(([name, spec]) => [name, packageFile(spec)]));
  await fastify.register(fastifyStatic as never, { root: resolve(__dirname, 'web'), prefix: '/ui/', index: ['index.html'], wildcard: false } as never);
  fastify.get('/ui/vendor/:file', async (request, reply) => {
    const file = files[(request.params as { file: string }).file];
    if (!file) return reply.code(404).send({ error: 'not_found', message: 'no such vendor file' });
    // Vendor modules change only with an upgrade (and a restart): a day in the browser's cache.
    return (reply as unknown as { sendFile(name: string, root: string, options: object): unknown }).sendFile(
      file.slice(dirname(file).length + 1),
      dirname(file),
      { maxAge: 86_400_000 },
    );
  });
  fastify.get('/', async (_request, reply) => reply.redirect('/ui/'));
  // The single-page app's own routes live after '#', so every /ui/ path is a file or a 404.
}
