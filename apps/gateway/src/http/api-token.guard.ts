import { ForbiddenException, Injectable, SetMetadata, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Runtime } from '@klaxon/platform';
import { CSRF_HEADER, sessionOf } from '../ui/session';
import { SessionRepository } from '../ui/session.repository';

const PUBLIC = 'klaxon:public';
/** Marks a route that checks its caller itself (webhook signatures) or needs no auth (health). */
export const Public = () => SetMetadata(PUBLIC, true);

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const READS = new Set(['GET', 'HEAD']);

/**
 * `Authorization: Bearer <KLAXON_API_TOKEN>` on every /v1 call not marked @Public, or the dashboard's
 * session cookie: reads with any session, writes with an admin session that also sends its CSRF token
 * (a header a cross-site form cannot set, on a cookie a cross-site request does not carry).
 */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly runtime: Runtime,
    private readonly sessions: SessionRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization ?? '';
    if (!header) {
      const session = await sessionOf(request, this.sessions);
      if (session) {
        if (READS.has(request.method)) return true;
        if (session.scope !== 'admin') throw new ForbiddenException({ error: 'forbidden', message: 'this session may only read', field: 'cookie' });
        if (!safeEqual(String(request.headers[CSRF_HEADER] ?? ''), session.csrf)) {
          throw new ForbiddenException({ error: 'forbidden', message: `${CSRF_HEADER}: the session's CSRF token is required for writes`, field: CSRF_HEADER });
        }
        return true;
      }
    }
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token || !safeEqual(token, this.runtime.apiToken)) {
      throw new UnauthorizedException({ error: 'unauthorized', message: 'Authorization: Bearer <KLAXON_API_TOKEN> required', field: 'authorization' });
    }
    return true;
  }
}
