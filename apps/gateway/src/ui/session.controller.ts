import { Controller, Delete, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Runtime } from '@klaxon/platform';
import { ApiError, jsonBody, validate } from '../http/api-error';
import { Public, safeEqual } from '../http/api-token.guard';
import { SESSION_COOKIE, sessionOf } from './session';
import { SESSION_TTL_SECONDS, SessionRepository } from './session.repository';

const signIn = z.object({ token: z.string().min(1, 'the API token is required') }).strict();

/**
 * The dashboard's sign-in: the API token, given once, becomes an HTTP-only, same-site session cookie,
 * so the token never sits in the page where a script could read it.
 */
@Controller('ui/session')
export class SessionController {
  constructor(
    private readonly runtime: Runtime,
    private readonly sessions: SessionRepository,
  ) {}

  @Post()
  @Public()
  @HttpCode(201)
  async create(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { token } = validate(signIn, jsonBody(request.body));
    if (!this.runtime.apiToken || !safeEqual(token, this.runtime.apiToken)) {
      throw new ApiError(HttpStatus.UNAUTHORIZED, { error: 'unauthorized', message: 'token: not a Klaxon API token', field: 'token' });
    }
    const { id, session } = await this.sessions.create('admin', this.runtime.clock());
    reply.setCookie(SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      path: '/',
      maxAge: SESSION_TTL_SECONDS,
    });
    return { scope: session.scope, csrf: session.csrf };
  }

  /** Who the cookie signs in as, and the CSRF token its writes carry. */
  @Get()
  @Public()
  async current(@Req() request: FastifyRequest) {
    const session = await sessionOf(request, this.sessions);
    if (!session) throw new ApiError(HttpStatus.UNAUTHORIZED, { error: 'unauthorized', message: 'not signed in', field: 'cookie' });
    return { scope: session.scope, csrf: session.csrf };
  }

  @Delete()
  @Public()
  @HttpCode(204)
  async remove(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const id = request.cookies?.[SESSION_COOKIE];
    if (id) await this.sessions.delete(id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}
