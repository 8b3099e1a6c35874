import type { Redis } from 'ioredis';
import { fromView, toView, type Exception, type ExceptionView } from './exception';

/** Exceptions created through the admin API: one hash `<prefix>:exceptions`, id → JSON view. */
export class ExceptionRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key() {
    return `${this.prefix}:exceptions`;
  }

  async list(): Promise<Exception[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.keys(all)
      .sort()
      .map((id) => fromView(JSON.parse(all[id]) as ExceptionView));
  }

  async get(id: string): Promise<Exception | undefined> {
    const value = await this.redis.hget(this.key, id);
    return value ? fromView(JSON.parse(value) as ExceptionView) : undefined;
  }

  /** Creates or replaces (a new expiry for the same id extends it). */
  async put(exception: Exception): Promise<void> {
    await this.redis.hset(this.key, exception.id, JSON.stringify(toView({ ...exception, origin: 'api' })));
  }

  /** True when it existed. */
  async remove(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) === 1;
  }
}
