import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { QUEUE, deliverQueue, type Runtime } from '@klaxon/platform';
import { credentialFor } from './api-token.guard';

/** Bearer token, or HTTP basic auth with the token as password (what a browser can send). */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return undefined;
}

/**
 * `/queues` (BullMQ dashboard: job payloads hold findings, so it takes an API token, by basic auth
 * in a browser; any token reads, only an admin token changes jobs: retry, clean, delete, pause) and
 * `/docs` (OpenAPI of the HTTP API, public like the code that defines it).
 */
export async function mountDashboards(app: NestFastifyApplication, runtime: Runtime): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const board = new BullBoardFastifyAdapter();
  board.setBasePath('/queues');
  const names = [...Object.values(QUEUE), ...Object.keys(runtime.config.destinations).map(deliverQueue)];
  createBullBoard({ queues: names.map((name) => new BullMQAdapter(runtime.queues.queue(name), { readOnlyMode: false })), serverAdapter: board });
  // The plugin is typed against the top-level fastify, the adapter against Nest's own copy: same runtime API.
  await fastify.register(
    (async (scope: import('fastify').FastifyInstance) => {
      scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        const token = presentedToken(request);
        const caller = token ? credentialFor(runtime.credentials, token) : undefined;
        if (!caller) {
          await reply
            .code(401)
            .header('www-authenticate', 'Basic realm="klaxon queues"')
            .send({ error: 'unauthorized', message: 'an API token is required (basic auth password or Bearer)', field: 'authorization' });
        } else if (caller.scope !== 'admin' && request.method !== 'GET' && request.method !== 'HEAD') {
          await reply
            .code(403)
            .send({ error: 'forbidden', message: `the token "${caller.name}" reads the queues; changing jobs needs an admin token`, field: 'authorization' });
        }
      });
      await scope.register(board.registerPlugin() as never);
    }) as never,
    { prefix: '/queues' },
  );

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Klaxon')
      .setDescription('Security findings in, the right people notified once. /v1 calls take Authorization: Bearer <KLAXON_API_TOKEN>.')
      .addBearerAuth()
      .build(),
  );
  // Request and response DTOs are zod schemas (createZodDto): the clean-up writes them out in full.
  SwaggerModule.setup('docs', app, cleanupOpenApiDoc(document), { jsonDocumentUrl: 'docs/openapi.json' });
}
