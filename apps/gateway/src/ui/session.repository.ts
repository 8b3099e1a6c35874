import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What a signed-in browser may do: `admin` writes (replay, exceptions, adopt); `read` only looks. */
export type SessionScope = 'admin' | 'read';

export interface Session {
  scope: SessionScope;
  /** Sent back in `X-Klaxon-CSRF` with every write made with the cookie. */
  csrf: string;
  createdAt: string;
}

/** A working day: the browser signs in again with its token after that. */
export const SESSION_TTL_SECONDS = 12 * 3600;

/**
 * Dashboard sessions (`session:<sha256 of the cookie value>`): the cookie holds a random id, Redis only
 * its hash, so reading Redis does not give anyone a way in. See docs/redis.md.
 */
export class SessionRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string) {
    return `${this.prefix}:session:${createHash('sha256').update(id).digest('hex')}`;
  }

  async create(scope: SessionScope, now: Date): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const session: Session = { scope, csrf: randomBytes(18).toString('base64url'), createdAt: now.toISOString() };
    await this.redis.set(this.key(id), JSON.stringify(session), 'EX', SESSION_TTL_SECONDS);
    return { id, session };
  }

  async get(id: string): Promise<Session | undefined> {
    const value = await this.redis.get(this.key(id));
    return value ? (JSON.parse(value) as Session) : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
