import {
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Runtime, type ApiCredential } from '@klaxon/platform';
import { CSRF_HEADER, sessionOf } from '../ui/session';
import { SessionRepository } from '../ui/session.repository';

/**
 * Who may call a route: `public` (the route checks its caller itself, as webhooks do, or needs no
 * auth), `read` (any valid token: queries), `ci` (reports and the gate: ci tokens for their own
 * repositories, checked by the controller with `assertRepo`), `admin` (the default: everything that
 * changes what Klaxon tells people, or replays what it held back).
 */
export type Access = 'public' | 'read' | 'ci' | 'admin';
const ACCESS = 'klaxon:access';
export const Access = (level: Access) => SetMetadata(ACCESS, level);
/** Marks a route that checks its caller itself (webhook signatures) or needs no auth (health). */
export const Public = () => Access('public');

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The credential that presents `token`, comparing with every one so timing tells nothing of which. */
export function credentialFor(credentials: readonly ApiCredential[], token: string): ApiCredential | undefined {
  let found: ApiCredential | undefined;
  for (const credential of credentials) if (safeEqual(token, credential.token) && !found) found = credential;
  return found;
}

type Authenticated = FastifyRequest & { caller?: ApiCredential };

/** The credential of the request, as the guard identified it (undefined on public routes). */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<Authenticated>().caller);

/** A ci token acts only for the repositories it names: a report or gate of another repository is a 403 naming `repo`. */
export function assertRepo(caller: ApiCredential | undefined, repo: string | undefined): void {
  if (!caller || caller.scope === 'admin') return;
  if (!repo)
    throw new ForbiddenException({
      error: 'forbidden',
      message: `repo: a ci token must name the repository (one of ${caller.repos.join(', ')})`,
      field: 'repo',
    });
  if (!caller.repos.includes(repo)) {
    throw new ForbiddenException({
      error: 'forbidden',
      message: `repo: the token "${caller.name}" may not act for ${repo} (only ${caller.repos.join(', ')})`,
      field: 'repo',
    });
  }
}

const READS = new Set(['GET', 'HEAD']);

/**
 * `Authorization: Bearer <token>` on every /v1 call not marked @Public, with the scope its route needs;
 * or the dashboard's session cookie: a read session reads, an admin session also writes when it sends
 * its CSRF token (a header a cross-site form cannot set, on a cookie a cross-site request does not carry).
 */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly runtime: Runtime,
    private readonly sessions: SessionRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access>(ACCESS, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (access === 'public') return true;
    const request = context.switchToHttp().getRequest<Authenticated>();
    const header = request.headers.authorization ?? '';
    if (!header) {
      const session = await sessionOf(request, this.sessions);
      if (session) {
        if (session.scope !== 'admin') {
          if (access === 'read' && READS.has(request.method)) return true;
          throw new ForbiddenException({ error: 'forbidden', message: 'this session may only read', field: 'cookie' });
        }
        if (READS.has(request.method)) return true;
        if (!safeEqual(String(request.headers[CSRF_HEADER] ?? ''), session.csrf)) {
          throw new ForbiddenException({ error: 'forbidden', message: `${CSRF_HEADER}: the session's CSRF token is required for writes`, field: CSRF_HEADER });
        }
        return true;
      }
    }
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const caller = token ? credentialFor(this.runtime.credentials, token) : undefined;
    if (!caller) {
      throw new UnauthorizedException({
        error: 'unauthorized',
        message: 'Authorization: Bearer <token> required (KLAXON_API_TOKEN or one of auth.tokens)',
        field: 'authorization',
      });
    }
    if (caller.scope === 'ci' && access === 'admin') {
      throw new ForbiddenException({
        error: 'forbidden',
        message: `the token "${caller.name}" is a ci token; this call needs an admin token`,
        field: 'authorization',
      });
    }
    request.caller = caller;
    return true;
  }
}
