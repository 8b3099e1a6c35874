import type { Redis } from 'ioredis';

export interface DeadLetter {
  id: string;
  queue: string;
  jobName: string;
  data: unknown;
  error: { name: string; message: string; code?: string };
  attempts: number;
  failedAt: string;
}

/** Jobs that cannot succeed as they are: kept with their error until someone replays them. */
export class DeadLetterRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get indexKey() {
    return `${this.prefix}:dead-letters`;
  }
  private key(id: string) {
    return `${this.prefix}:dead-letter:${id}`;
  }

  async add(letter: DeadLetter): Promise<void> {
    await this.redis.multi().set(this.key(letter.id), JSON.stringify(letter)).zadd(this.indexKey, Date.parse(letter.failedAt), letter.id).exec();
  }

  async list(offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }> {
    const [total, ids] = await Promise.all([this.redis.zcard(this.indexKey), this.redis.zrevrange(this.indexKey, offset, offset + limit - 1)]);
    if (!ids.length) return { total, items: [] };
    const values = await this.redis.mget(ids.map((id) => this.key(id)));
    return { total, items: values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as DeadLetter) };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const value = await this.redis.get(this.key(id));
    return value ? (JSON.parse(value) as DeadLetter) : undefined;
  }

  /** Removes a letter and returns it, to exactly one of any concurrent callers. */
  async take(id: string): Promise<DeadLetter | undefined> {
    const [[, value], [, removed]] = (await this.redis.multi().get(this.key(id)).zrem(this.indexKey, id).del(this.key(id)).exec()) as [
      [null, string | null],
      [null, number],
      [null, number],
    ];
    return removed && value ? (JSON.parse(value) as DeadLetter) : undefined;
  }

  /** Retention: removes letters that failed before `cutoff`, and the oldest beyond `keepAtMost`. Returns how many went. */
  async removeOlderThan(cutoff: Date, keepAtMost: number): Promise<number> {
    const old = await this.redis.zrangebyscore(this.indexKey, '-inf', `(${cutoff.getTime()}`);
    const total = await this.redis.zcard(this.indexKey);
    const excess = total - old.length - keepAtMost;
    const over = excess > 0 ? await this.redis.zrange(this.indexKey, old.length, old.length + excess - 1) : [];
    const ids = [...old, ...over];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      await this.redis
        .multi()
        .del(...chunk.map((id) => this.key(id)))
        .zrem(this.indexKey, ...chunk)
        .exec();
    }
    return ids.length;
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.key(id)).zrem(this.indexKey, id).exec();
  }
}
