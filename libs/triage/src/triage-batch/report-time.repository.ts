import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis, Result } from 'ioredis';
import type { Scope } from '@klaxon/findings';

/**
 * The newest report time applied per complete-report scope (`<prefix>:scope-reported`, scope key → ms),
 * so that reports of one artifact by one tool apply in the order the tool made them.
 */
export class ReportTimeRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.claimReportTime)
      redis.defineCommand('claimReportTime', { numberOfKeys: 1, lua: readFileSync(resolve(__dirname, '../lua/claim-report-time.lua'), 'utf8') });
  }

  /** The scopes of `scopes` for which a newer report was applied already (checked and recorded atomically). */
  async older(scopes: Scope[]): Promise<Set<string>> {
    const timed = scopes.flatMap((s) => {
      const ms = s.reportedAt ? Date.parse(s.reportedAt) : NaN;
      return Number.isFinite(ms) ? [{ key: s.key, ms }] : [];
    });
    if (!timed.length) return new Set();
    const applied = await this.redis.claimReportTime(`${this.prefix}:scope-reported`, ...timed.flatMap((t) => [t.key, String(t.ms)]));
    return new Set(timed.filter((_, i) => !applied[i]).map((t) => t.key));
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    claimReportTime(key: string, ...args: string[]): Result<number[], Context>;
  }
}
