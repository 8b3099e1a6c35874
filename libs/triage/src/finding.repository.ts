import type { Redis, Result } from 'ioredis';
import { findingSchema, type Finding, type FindingState, type Scope } from '@klaxon/findings';

export interface HistoryEntry {
  at: string;
  state: FindingState;
  cause: string;
}

/** A finding as Klaxon remembers it: the latest report of it plus its life so far. */
export interface FindingRecord extends Finding {
  state: FindingState;
  firstSeen: string;
  lastSeen: string;
  occurrences: number;
  sources: string[];
  digests: string[];
  history: HistoryEntry[];
}

export type UpsertChange = 'new' | 'regressed' | 'unchanged';

/** History kept per finding: enough to read its story, bounded so a flapping finding cannot grow without end. */
export const HISTORY_LIMIT = 50;
/** Findings per script call: keeps each call short so Redis stays responsive to other clients. */
const CHUNK = 500;

/*
 * One call upserts a chunk of findings. Per finding: the latest report as opaque JSON (`data`),
 * lifecycle fields in the same hash, and sets of the sources and digests it was seen in.
 * ARGV: prefix, now, cause, historyLimit, then (fingerprint, data, sourceKey, digest) per finding.
 */
const UPSERT_SCRIPT = `
local prefix, now, cause, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 4 do
  local fp, data, source, digest = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = prefix .. ':finding:' .. fp
  local current = redis.call('HMGET', key, 'state', 'lastCause', 'lastChange')
  local state, lastCause, change = current[1], current[2], 'unchanged'
  if lastCause == cause then
    -- The same input again (a retried job): report what it did the first time, change nothing.
    change = current[3]
  elseif not state then
    redis.call('HSET', key, 'data', data, 'state', 'open', 'firstSeen', now, 'lastSeen', now, 'occurrences', 1)
    redis.call('RPUSH', key .. ':history', cjson.encode({at = now, state = 'open', cause = 'first seen in ' .. cause}))
    redis.call('SADD', prefix .. ':findings', fp)
    change = 'new'
  else
    redis.call('HSET', key, 'data', data, 'lastSeen', now)
    redis.call('HINCRBY', key, 'occurrences', 1)
    if state == 'resolved' then
      redis.call('HSET', key, 'state', 'open')
      redis.call('RPUSH', key .. ':history', cjson.encode({at = now, state = 'open', cause = 'regressed: seen again in ' .. cause}))
      redis.call('LTRIM', key .. ':history', -limit, -1)
      change = 'regressed'
    end
  end
  if lastCause ~= cause then
    redis.call('HSET', key, 'lastCause', cause, 'lastChange', change)
    redis.call('SADD', key .. ':sources', source)
    if digest ~= '' then redis.call('SADD', key .. ':digests', digest) end
  end
  out[#out + 1] = change
end
return out
`;

/*
 * Replaces the membership of a complete-report scope and resolves the open findings it no longer has.
 * KEYS: none (prefix in ARGV). ARGV: prefix, scopeKey, now, cause, historyLimit, then the fingerprints seen.
 */
const RESOLVE_SCOPE_SCRIPT = `
local prefix, scope, now, cause, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local setKey = prefix .. ':scope:' .. scope
local lastKey = setKey .. ':last'
-- The same input again (a retried job): answer as the first time did.
if redis.call('HGET', lastKey, 'cause') == cause then
  return cjson.decode(redis.call('HGET', lastKey, 'resolved'))
end
local seen = {}
for i = 6, #ARGV do seen[ARGV[i]] = true end
local resolved = {}
for _, fp in ipairs(redis.call('SMEMBERS', setKey)) do
  if not seen[fp] then
    local key = prefix .. ':finding:' .. fp
    if redis.call('HGET', key, 'state') == 'open' then
      redis.call('HSET', key, 'state', 'resolved')
      redis.call('RPUSH', key .. ':history', cjson.encode({at = now, state = 'resolved', cause = 'missing from ' .. cause}))
      redis.call('LTRIM', key .. ':history', -limit, -1)
      resolved[#resolved + 1] = fp
    end
  end
end
redis.call('DEL', setKey)
for i = 6, #ARGV, 5000 do
  redis.call('SADD', setKey, unpack(ARGV, i, math.min(i + 4999, #ARGV)))
end
-- cjson writes an empty table as {}: keep the JSON array shape for the retry answer.
redis.call('HSET', lastKey, 'cause', cause, 'resolved', #resolved == 0 and '[]' or cjson.encode(resolved))
return resolved
`;

function sourceKey(f: Finding): string {
  return `${f.source.tool}/${f.source.integration}`;
}

/** Every key of finding state is spelled here: `<prefix>:finding:<fp>` (+ `:history`, `:sources`, `:digests`). */
export class FindingRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.upsertFindings) {
      redis.defineCommand('upsertFindings', { numberOfKeys: 0, lua: UPSERT_SCRIPT });
      redis.defineCommand('resolveScope', { numberOfKeys: 0, lua: RESOLVE_SCOPE_SCRIPT });
    }
  }

  private key(fp: string) {
    return `${this.prefix}:finding:${fp}`;
  }

  /** Upserts a batch with one script call per chunk, all in one pipeline. Returns the change per finding. */
  async upsert(findings: Finding[], now: Date, cause: string): Promise<UpsertChange[]> {
    if (!findings.length) return [];
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < findings.length; i += CHUNK) {
      const args: string[] = [this.prefix, now.toISOString(), cause, String(HISTORY_LIMIT)];
      for (const f of findings.slice(i, i + CHUNK)) {
        const { state: _state, ...data } = f;
        args.push(f.fingerprint, JSON.stringify(data), sourceKey(f), f.artifact?.digest ?? '');
      }
      pipeline.upsertFindings(...args);
    }
    const results = await pipeline.exec();
    return results!.flatMap(([err, changes]) => {
      if (err) throw err;
      return changes as UpsertChange[];
    });
  }

  /** Resolves what a complete report of `scope` no longer contains; returns their fingerprints. */
  async resolveScope(scope: Scope, seen: string[], now: Date, cause: string): Promise<string[]> {
    return (await this.redis.resolveScope(this.prefix, scope.key, now.toISOString(), cause, String(HISTORY_LIMIT), ...seen)) as string[];
  }

  /** Loads records in one pipeline; missing fingerprints are left out. */
  async getMany(fingerprints: string[]): Promise<FindingRecord[]> {
    if (!fingerprints.length) return [];
    const pipeline = this.redis.pipeline();
    for (const fp of fingerprints) {
      const key = this.key(fp);
      pipeline.hgetall(key).lrange(`${key}:history`, 0, -1).smembers(`${key}:sources`).smembers(`${key}:digests`);
    }
    const results = (await pipeline.exec())!.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const records: FindingRecord[] = [];
    for (let i = 0; i < results.length; i += 4) {
      const hash = results[i] as Record<string, string>;
      if (!hash.data) continue;
      records.push({
        ...findingSchema.parse(JSON.parse(hash.data)),
        state: hash.state as FindingState,
        firstSeen: hash.firstSeen,
        lastSeen: hash.lastSeen,
        occurrences: Number(hash.occurrences),
        history: (results[i + 1] as string[]).map((h) => JSON.parse(h) as HistoryEntry),
        sources: (results[i + 2] as string[]).sort(),
        digests: (results[i + 3] as string[]).sort(),
      } as FindingRecord);
    }
    return records;
  }

  async get(fingerprint: string): Promise<FindingRecord | undefined> {
    return (await this.getMany([fingerprint]))[0];
  }

  async count(): Promise<number> {
    return this.redis.scard(`${this.prefix}:findings`);
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    upsertFindings(...args: string[]): Result<string[], Context>;
    resolveScope(...args: string[]): Result<string[], Context>;
  }
}
