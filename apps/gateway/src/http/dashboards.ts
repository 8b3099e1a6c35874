import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { DESTINATION_TYPES, QUEUE, deliverQueue, type Runtime } from '@klaxon/platform';
import { safeEqual } from './api-token.guard';

/** Bearer token, or HTTP basic auth with the token as password (what a browser can send). */
function presentsToken(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Bearer ')) return safeEqual(header.slice(7).trim(), token);
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return safeEqual(decoded.slice(decoded.indexOf(':') + 1), token);
  }
  return false;
}

/**
 * `/queues` (BullMQ dashboard: job payloads hold findings, so it takes the API token, by basic auth
 * in a browser) and `/docs` (OpenAPI of the HTTP API, public like the code that defines it).
 */
export async function mountDashboards(app: NestFastifyApplication, runtime: Runtime): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const board = new BullBoardFastifyAdapter();
  board.setBasePath('/queues');
  const names = [...Object.values(QUEUE), ...DESTINATION_TYPES.map(deliverQueue)];
  createBullBoard({ queues: names.map((name) => new BullMQAdapter(runtime.queues.queue(name), { readOnlyMode: false })), serverAdapter: board });
  // The plugin is typed against the top-level fastify, the adapter against Nest's own copy: same runtime API.
  await fastify.register(
    (async (scope: import('fastify').FastifyInstance) => {
      scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (!presentsToken(request, runtime.apiToken)) {
          await reply
            .code(401)
            .header('www-authenticate', 'Basic realm="klaxon queues"')
            .send({ error: 'unauthorized', message: 'the API token is required (basic auth password or Bearer)', field: 'authorization' });
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
