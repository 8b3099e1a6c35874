import type { ChainableCommander, Redis } from 'ioredis';

/** Daily counters live about a year: the dashboard's chart reads the last weeks. */
const DAY_TTL_SECONDS = 400 * 24 * 3600;

export interface DailyCounts {
  day: string;
  new: number;
  regressed: number;
  resolved: number;
}

const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/**
 * Counters the overview reads instead of scanning every finding: lifecycle changes per day
 * (`stats:day:<yyyy-mm-dd>`) and notifications sent per destination (`stats:sent`). See docs/redis.md.
 */
export class StatsRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private dayKey(day: string) {
    return `${this.prefix}:stats:day:${day}`;
  }
  private get sentKey() {
    return `${this.prefix}:stats:sent`;
  }

  /** What one triage did to the lifecycle (new, regressed, resolved findings). */
  async recordTriage(counts: Partial<Record<'new' | 'regressed' | 'resolved', number>>, now: Date): Promise<void> {
    const key = this.dayKey(dayOf(now));
    const multi = this.redis.multi();
    for (const field of ['new', 'regressed', 'resolved'] as const) if (counts[field]) multi.hincrby(key, field, counts[field]!);
    await multi.expire(key, DAY_TTL_SECONDS).exec();
  }

  /** Counts a notification sent to a destination, added to a pipeline the caller sends. */
  recordSentIn(pipeline: ChainableCommander, destination: string): void {
    pipeline.hincrby(this.sentKey, destination, 1);
  }

  /** The last `days` days, oldest first, zeros included. */
  async daily(days: number, now: Date): Promise<DailyCounts[]> {
    const dates = Array.from({ length: days }, (_, i) => dayOf(new Date(now.getTime() - (days - 1 - i) * 86_400_000)));
    const pipeline = this.redis.pipeline();
    for (const d of dates) pipeline.hgetall(this.dayKey(d));
    const replies = (await pipeline.exec())!;
    return dates.map((day, i) => {
      const hash = (replies[i][1] ?? {}) as Record<string, string>;
      return { day, new: Number(hash.new ?? 0), regressed: Number(hash.regressed ?? 0), resolved: Number(hash.resolved ?? 0) };
    });
  }

  async sent(): Promise<Record<string, number>> {
    const hash = await this.redis.hgetall(this.sentKey);
    return Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, Number(v)]));
  }
}
