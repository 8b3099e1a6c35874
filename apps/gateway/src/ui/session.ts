import type { FastifyRequest } from 'fastify';
import type { Session, SessionRepository } from './session.repository';

export const SESSION_COOKIE = 'klaxon_session';
/** Writes made with the session cookie must carry the session's CSRF token in this header. */
export const CSRF_HEADER = 'x-klaxon-csrf';

export async function sessionOf(request: FastifyRequest, sessions: SessionRepository): Promise<Session | undefined> {
  const id = request.cookies?.[SESSION_COOKIE];
  return id ? sessions.get(id) : undefined;
}
