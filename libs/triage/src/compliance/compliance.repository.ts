import type { Redis } from 'ioredis';
import type { ControlResult } from '@klaxon/findings';
import { matchesCompliance, summarizeCompliance, type ComplianceFilter } from './compliance';

/** A day's snapshot per standard, for the trend. Kept about a year. */
const TREND_TTL_SECONDS = 400 * 24 * 3600;

export interface TrendPoint {
  day: string;
  standard: string;
  passing: number;
  failing: number;
}

const day = (at: Date) => at.toISOString().slice(0, 10);

/**
 * Of two encoded results of one control scope, the one to keep: the later report time, and at the same
 * time the larger encoding, so replicas agree whatever order they saw them in.
 */
function newer(candidate: string, current: string | undefined): string {
  if (current === undefined) return candidate;
  const [a, b] = [(JSON.parse(candidate) as ControlResult).observedAt, (JSON.parse(current) as ControlResult).observedAt];
  return a > b || (a === b && candidate > current) ? candidate : current;
}

/**
 * The latest result of every control per cluster and namespace (`compliance:controls`, a hash whose
 * fields name standard, control, cluster and namespace), and a daily snapshot of each standard's counts
 * (`compliance:trend:<day>`). See docs/redis.md.
 */
export class ComplianceRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get controlsKey() {
    return `${this.prefix}:compliance:controls`;
  }
  private trendKey(at: string) {
    return `${this.prefix}:compliance:trend:${at}`;
  }

  /**
   * Keeps each control scope's newest result by the report's own time, so a late older report does
   * not undo a newer one, then snapshots today's counts per standard.
   */
  async record(results: ControlResult[], now: Date): Promise<void> {
    if (!results.length) return;
    const newest = new Map<string, string>();
    for (const result of results) {
      const field = JSON.stringify([result.standard.id, result.control.id, result.cluster ?? '', result.namespace ?? '']);
      newest.set(field, newer(JSON.stringify(result), newest.get(field)));
    }
    const fields = [...newest.keys()];
    const stored = await this.redis.hmget(this.controlsKey, ...fields);
    const updates: string[] = [];
    fields.forEach((field, i) => {
      const value = newest.get(field)!;
      if (newer(value, stored[i] ?? undefined) !== stored[i]) updates.push(field, value);
    });
    if (!updates.length) return;
    await this.redis.hset(this.controlsKey, ...updates);
    const standards = summarizeCompliance(await this.all());
    const key = this.trendKey(day(now));
    await this.redis
      .multi()
      .hset(key, ...standards.flatMap((s) => [s.id, JSON.stringify({ passing: s.passing, failing: s.failing })]))
      .expire(key, TREND_TTL_SECONDS)
      .exec();
  }

  async all(filter: ComplianceFilter = {}): Promise<ControlResult[]> {
    const values = Object.values(await this.redis.hgetall(this.controlsKey));
    return values.map((v) => JSON.parse(v) as ControlResult).filter((r) => matchesCompliance(r, filter));
  }

  /** Daily counts for the last `days` days, oldest first, of the standards seen those days. */
  async trend(days: number, now: Date): Promise<TrendPoint[]> {
    const dates = Array.from({ length: days }, (_, i) => day(new Date(now.getTime() - (days - 1 - i) * 86_400_000)));
    const pipeline = this.redis.pipeline();
    for (const d of dates) pipeline.hgetall(this.trendKey(d));
    const replies = (await pipeline.exec())!;
    return dates.flatMap((d, i) =>
      Object.entries((replies[i][1] ?? {}) as Record<string, string>).map(([standard, counts]) => ({
        day: d,
        standard,
        ...(JSON.parse(counts) as { passing: number; failing: number }),
      })),
    );
  }
}
