import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis, Result } from 'ioredis';
import type { Artifact, Code, Workload } from '@klaxon/findings';
import type { Evidence } from '@klaxon/feedback';

/** What Klaxon keeps per suggestion: its rule and subject, where it goes, the evidence so far. */
export interface StoredSuggestion {
  id: string;
  rule: string;
  workload?: Workload;
  image?: Artifact;
  code?: Code;
  evidence: Evidence;
  /** Optimistic-concurrency version: a write states the version it read. */
  version: number;
  /** When the repo adopted it (its checks then fail the CI gate). */
  adoptedAt?: string;
}

export type SuggestionWrite = Omit<StoredSuggestion, 'version' | 'adoptedAt'> & { expectedVersion: number };

/** What one feedback job did: the suggestions it touched, and whether each was new. */
export interface FeedbackOutcome {
  touched: { id: string; change: 'new' | 'updated' }[];
}

export type CommitResult = { status: 'ok' } | { status: 'conflict' } | { status: 'done'; outcome: FeedbackOutcome };

/** How long a processed event is remembered: a BullMQ retry comes well within it. */
const EVENT_TTL_SECONDS = 7 * 86_400;

const COMMIT_SCRIPT = readFileSync(resolve(__dirname, 'lua/commit-suggestions.lua'), 'utf8');

/**
 * Every key of suggestion state is spelled here, under one hash tag (the commit script spans them):
 * `<prefix>:{suggestions}:suggestion:<id>`, `:suggestions`, `:suggestions:repo:<repo>`,
 * `:suggestions:adopted`, `:feedback:event:<id>`.
 */
export class SuggestionRepository {
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    // {…} is a Redis Cluster hash tag: all these keys share one slot, so one script spans them (docs/redis.md, Hash tags).
    this.base = `${prefix}:{suggestions}`;
    if (!redis.commitSuggestions) redis.defineCommand('commitSuggestions', { lua: COMMIT_SCRIPT });
  }

  private key(id: string) {
    return `${this.base}:suggestion:${id}`;
  }

  /** The outcome recorded for an event already processed, or undefined. */
  async outcomeOf(eventId: string): Promise<FeedbackOutcome | undefined> {
    const value = await this.redis.get(`${this.base}:feedback:event:${eventId}`);
    return value ? (JSON.parse(value) as FeedbackOutcome) : undefined;
  }

  async getMany(ids: string[]): Promise<Map<string, StoredSuggestion>> {
    const out = new Map<string, StoredSuggestion>();
    if (!ids.length) return out;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.key(id), 'data', 'version', 'adoptedAt');
    const results = (await pipeline.exec())!;
    ids.forEach((id, i) => {
      const [err, value] = results[i];
      if (err) throw err;
      const [data, version, adoptedAt] = value as (string | null)[];
      if (!data) return;
      out.set(id, { ...(JSON.parse(data) as Omit<StoredSuggestion, 'version'>), id, version: Number(version), adoptedAt: adoptedAt ?? undefined });
    });
    return out;
  }

  async get(id: string): Promise<StoredSuggestion | undefined> {
    return (await this.getMany([id])).get(id);
  }

  /** Writes all of an event's suggestions atomically; `conflict` means read again and retry. */
  async commit(eventId: string, writes: SuggestionWrite[], outcome: FeedbackOutcome): Promise<CommitResult> {
    const keys = [`${this.base}:feedback:event:${eventId}`, `${this.base}:suggestions`];
    const args: string[] = [String(EVENT_TTL_SECONDS), JSON.stringify(outcome)];
    for (const { expectedVersion, ...s } of writes) {
      keys.push(this.key(s.id), `${this.base}:suggestions:repo:${s.code?.repo ?? ''}`);
      args.push(s.id, String(expectedVersion), JSON.stringify(s), String(Date.parse(s.evidence.lastSeen) || 0), s.code?.repo ?? '');
    }
    const [status, done] = (await this.redis.commitSuggestions(keys.length, ...keys, ...args)) as [string, string];
    if (status === 'done') return { status, outcome: JSON.parse(done) as FeedbackOutcome };
    return { status: status as 'ok' | 'conflict' };
  }

  /** Ids, most recently seen first, and how many there are. */
  async list(offset: number, limit: number, repo?: string): Promise<{ total: number; ids: string[] }> {
    if (repo) {
      const ids = await this.redis.smembers(`${this.base}:suggestions:repo:${repo}`);
      const scores = ids.length ? await this.redis.zmscore(`${this.base}:suggestions`, ...ids) : [];
      const sorted = ids.map((id, i) => [id, Number(scores[i] ?? 0)] as const).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return { total: ids.length, ids: sorted.slice(offset, offset + limit).map(([id]) => id) };
    }
    const key = `${this.base}:suggestions`;
    const [total, ids] = await Promise.all([this.redis.zcard(key), this.redis.zrevrange(key, offset, offset + limit - 1)]);
    return { total, ids };
  }

  async setAdopted(id: string, at: Date | undefined): Promise<void> {
    if (at) {
      await this.redis.multi().hset(this.key(id), 'adoptedAt', at.toISOString()).sadd(`${this.base}:suggestions:adopted`, id).exec();
    } else {
      await this.redis.multi().hdel(this.key(id), 'adoptedAt').srem(`${this.base}:suggestions:adopted`, id).exec();
    }
  }

  /** Adopted suggestions, optionally only those delivered to one repo. */
  async adopted(repo?: string): Promise<StoredSuggestion[]> {
    const ids = await this.redis.smembers(`${this.base}:suggestions:adopted`);
    const all = [...(await this.getMany(ids)).values()];
    return repo ? all.filter((s) => s.code?.repo === repo) : all;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    commitSuggestions(numberOfKeys: number, ...keysThenArgs: string[]): Result<[string, string], Context>;
  }
}
