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

/*
 * Writes one event's evidence for several suggestions at once, if nobody wrote them since they were
 * read (versions), and only once per event (the marker holds the outcome for a retried job).
 * ARGV: prefix, eventId, ttl, outcomeJson, then per suggestion: id, expectedVersion, json, lastSeenMs, repo.
 */
const COMMIT_SCRIPT = `
local prefix, event, ttl, outcome = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local marker = prefix .. ':feedback:event:' .. event
local done = redis.call('GET', marker)
if done then return {'done', done} end
for i = 5, #ARGV, 5 do
  local version = redis.call('HGET', prefix .. ':suggestion:' .. ARGV[i], 'version') or '0'
  if version ~= ARGV[i + 1] then return {'conflict', ''} end
end
for i = 5, #ARGV, 5 do
  local id, json, last, repo = ARGV[i], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key = prefix .. ':suggestion:' .. id
  redis.call('HSET', key, 'data', json, 'version', tonumber(ARGV[i + 1]) + 1)
  redis.call('ZADD', prefix .. ':suggestions', last, id)
  if repo ~= '' then redis.call('SADD', prefix .. ':suggestions:repo:' .. repo, id) end
end
redis.call('SET', marker, outcome, 'EX', ttl)
return {'ok', ''}
`;

/** Every key of suggestion state is spelled here: `<prefix>:suggestion:<id>`, `:suggestions`, `:feedback:event:<id>`. */
export class SuggestionRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.commitSuggestions) redis.defineCommand('commitSuggestions', { numberOfKeys: 0, lua: COMMIT_SCRIPT });
  }

  private key(id: string) {
    return `${this.prefix}:suggestion:${id}`;
  }

  /** The outcome recorded for an event already processed, or undefined. */
  async outcomeOf(eventId: string): Promise<FeedbackOutcome | undefined> {
    const value = await this.redis.get(`${this.prefix}:feedback:event:${eventId}`);
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
    const args: string[] = [this.prefix, eventId, String(EVENT_TTL_SECONDS), JSON.stringify(outcome)];
    for (const { expectedVersion, ...s } of writes) {
      args.push(s.id, String(expectedVersion), JSON.stringify(s), String(Date.parse(s.evidence.lastSeen) || 0), s.code?.repo ?? '');
    }
    const [status, done] = (await this.redis.commitSuggestions(...args)) as [string, string];
    if (status === 'done') return { status, outcome: JSON.parse(done) as FeedbackOutcome };
    return { status: status as 'ok' | 'conflict' };
  }

  /** Ids, most recently seen first, and how many there are. */
  async list(offset: number, limit: number, repo?: string): Promise<{ total: number; ids: string[] }> {
    if (repo) {
      const ids = await this.redis.smembers(`${this.prefix}:suggestions:repo:${repo}`);
      const scores = ids.length ? await this.redis.zmscore(`${this.prefix}:suggestions`, ...ids) : [];
      const sorted = ids.map((id, i) => [id, Number(scores[i] ?? 0)] as const).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return { total: ids.length, ids: sorted.slice(offset, offset + limit).map(([id]) => id) };
    }
    const key = `${this.prefix}:suggestions`;
    const [total, ids] = await Promise.all([this.redis.zcard(key), this.redis.zrevrange(key, offset, offset + limit - 1)]);
    return { total, ids };
  }

  async setAdopted(id: string, at: Date | undefined): Promise<void> {
    if (at) {
      await this.redis.multi().hset(this.key(id), 'adoptedAt', at.toISOString()).sadd(`${this.prefix}:suggestions:adopted`, id).exec();
    } else {
      await this.redis.multi().hdel(this.key(id), 'adoptedAt').srem(`${this.prefix}:suggestions:adopted`, id).exec();
    }
  }

  /** Adopted suggestions, optionally only those delivered to one repo. */
  async adopted(repo?: string): Promise<StoredSuggestion[]> {
    const ids = await this.redis.smembers(`${this.prefix}:suggestions:adopted`);
    const all = [...(await this.getMany(ids)).values()];
    return repo ? all.filter((s) => s.code?.repo === repo) : all;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    commitSuggestions(...args: string[]): Result<[string, string], Context>;
  }
}
