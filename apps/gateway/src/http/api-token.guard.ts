import { Injectable, SetMetadata, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Runtime } from '@klaxon/platform';

const PUBLIC = 'klaxon:public';
/** Marks a route that checks its caller itself (webhook signatures) or needs no auth (health). */
export const Public = () => SetMetadata(PUBLIC, true);

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `Authorization: Bearer <KLAXON_API_TOKEN>` on every /v1 call not marked @Public. */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly runtime: Runtime,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token || !safeEqual(token, this.runtime.apiToken)) {
      throw new UnauthorizedException({ error: 'unauthorized', message: 'Authorization: Bearer <KLAXON_API_TOKEN> required', field: 'authorization' });
    }
    return true;
  }
}
