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
  /** `cluster/namespace/kind/name` of every workload it was reported on. */
  workloads: string[];
  /** The exception that suppressed it when it was last triaged (suppressed findings only). */
  exception?: string;
  history: HistoryEntry[];
}

/**
 * What an upsert did to one finding. `suppressed`: an exception covers it now (it is stored, not
 * routed); `unsuppressed`: it was suppressed and no exception covers it any more (routed as new).
 */
export type UpsertChange = 'new' | 'regressed' | 'unchanged' | 'suppressed' | 'unsuppressed';

/** One finding to upsert, with the exception covering it (decided by the caller, a pure function). */
export interface FindingUpsert {
  finding: Finding;
  exception?: string;
}

/** Query filters; each is an exact value of a secondary index. Several values of one filter are OR'ed. */
export interface FindingFilter {
  state?: FindingState[];
  kind?: string[];
  severity?: string[];
  image?: string[];
  digest?: string[];
  workload?: string[];
  repo?: string[];
  /** Risk score at least this (the finding's current risk, rescores included). */
  minRisk?: number;
}

/** What correlation derives for a stored finding from its context: rewritten when a context change rescores it. */
export interface DerivedFields {
  risk: NonNullable<Finding['risk']>;
  environment?: string;
  exposure?: string;
}

/** A running container, as workload assets report it: which digest of which image repository runs where. */
export interface RunningSlot {
  repository: string;
  /** `cluster/namespace/kind/name/container`: one running slot, replaced when it runs another digest. */
  slot: string;
  /** undefined: the slot is gone (workload deleted). */
  digest?: string;
}

/** History kept per finding: enough to read its story, bounded so a flapping finding cannot grow without end. */
export const HISTORY_LIMIT = 50;
/** How long the answer of an exception's end is kept for a retry of its job. */
const RELEASE_ANSWER_TTL_SECONDS = 7 * 86_400;
/** Findings per script call: keeps each call short so Redis stays responsive to other clients. */
const CHUNK = 500;
const UPSERT_ARGS = 9;

/*
 * Shared Lua: history, the state index, and resolution against the current digests of an image
 * repository. A finding seen in several digests resolves only when no current digest (the newest
 * scanned, plus those running in the cluster) still has it.
 */
const PRELUDE = `
local prefix = ARGV[1]
local function fkey(fp) return prefix .. ':finding:' .. fp end
local function idx(name) return prefix .. ':idx:' .. name end
local riskIdx = prefix .. ':findings:risk'
local function history(fp, at, state, cause, limit)
  local key = fkey(fp) .. ':history'
  if redis.call('RPUSH', key, cjson.encode({at = at, state = state, cause = cause})) > limit then
    redis.call('LTRIM', key, -limit, -1)
  end
end
local function setState(fp, from, to)
  if from then redis.call('SREM', idx('state:' .. from), fp) end
  redis.call('SADD', idx('state:' .. to), fp)
end
local function resolve(fp, now, why, limit)
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'exception')
  if cur[1] ~= 'open' and cur[1] ~= 'suppressed' then return false end
  redis.call('HSET', key, 'state', 'resolved', 'exception', '', 'resolvedAt', now)
  setState(fp, cur[1], 'resolved')
  if cur[2] and cur[2] ~= '' then redis.call('SREM', idx('exception:' .. cur[2]), fp) end
  history(fp, now, 'resolved', why, limit)
  return true
end
local function scopeKey(key) return prefix .. ':scope:' .. key end
-- Apart from the scopes' own keys: a scope whose key ends in ':last' is just another scope.
local function scopeLastKey(key) return prefix .. ':scope-last:' .. key end
-- 'image:<digest>' or a tool's own 'image:<digest>/<tool>' (Grype keeps its own view of a digest).
local function digestOf(scope) return string.match(scope, '^image:([^/]+)') end
-- Recomputes the current digests of an image repository. Returns the Redis keys of the scopes of current
-- digests (but 'except'), and of the scopes of digests that just stopped being current.
local function reconcile(repository, except)
  local image = prefix .. ':image:' .. repository
  local current = {}
  local newest = redis.call('ZREVRANGE', image .. ':scans', 0, 0)
  if newest[1] then current[newest[1]] = true end
  for _, d in ipairs(redis.call('HVALS', image .. ':running')) do current[d] = true end
  local dropped = {}
  for _, d in ipairs(redis.call('SMEMBERS', image .. ':current')) do
    if not current[d] then dropped[d] = true end
  end
  redis.call('DEL', image .. ':current')
  for d in pairs(current) do redis.call('SADD', image .. ':current', d) end
  local live, gone = {}, {}
  for _, scope in ipairs(redis.call('SMEMBERS', image .. ':scopes')) do
    local d = digestOf(scope)
    if current[d] then
      if scope ~= except then live[#live + 1] = scopeKey(scope) end
    elseif dropped[d] then
      gone[#gone + 1] = scopeKey(scope)
    end
  end
  return live, gone
end
-- Resolves the candidates that no live scope still has.
local function resolveUnless(candidates, live, now, why, limit, resolved)
  for fp in pairs(candidates) do
    local still = false
    for _, key in ipairs(live) do
      if redis.call('SISMEMBER', key, fp) == 1 then still = true break end
    end
    if not still and resolve(fp, now, why, limit) then resolved[#resolved + 1] = fp end
  end
end
`;

/*
 * One call upserts a chunk of findings: the latest report as opaque JSON (`data`), lifecycle fields in
 * the same hash, sets of sources, digests and workloads, and the secondary indexes queries read.
 * ARGV: prefix, now, nowMs, cause, historyLimit, then per finding: fingerprint, data, sourceKey, digest,
 * workload, exception ('' none), attribute indexes ('\\n'-joined, replaced), accumulating indexes (kept),
 * risk score. A new report carries the risk correlation just gave it: it replaces a rescore's `derived`.
 */
const UPSERT_SCRIPT = `${PRELUDE}
local now, nowMs, cause, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {}
local function split(s)
  local t = {}
  for part in string.gmatch(s, '[^\\n]+') do t[part] = true end
  return t
end
for i = 6, #ARGV, ${UPSERT_ARGS} do
  local fp, data, source, digest, workload, exc, ix, acc, score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'lastCause', 'lastChange', 'exception', 'ix', 'occurrences', 'score')
  local state, lastCause, change, prevExc, prevIx = cur[1], cur[2], 'unchanged', cur[4] or '', cur[5] or ''
  if lastCause == cause then
    -- The same input again (a retried job): report what it did the first time, change nothing.
    change = cur[3]
  else
    local target = exc ~= '' and 'suppressed' or 'open'
    local why
    if not state then
      change = target == 'open' and 'new' or 'suppressed'
      why = 'first seen in ' .. cause .. (exc ~= '' and (', covered by exception ' .. exc) or '')
      redis.call('HSET', key, 'data', data, 'state', target, 'firstSeen', now, 'lastSeen', now, 'occurrences', 1,
        'lastCause', cause, 'lastChange', change, 'exception', exc, 'ix', ix, 'score', score)
      redis.call('SADD', prefix .. ':findings', fp)
    else
      if state == target then
        change = 'unchanged'
      elseif target == 'suppressed' then
        change, why = 'suppressed', 'covered by exception ' .. exc .. ' when seen in ' .. cause
      elseif state == 'resolved' then
        change, why = 'regressed', 'regressed: seen again in ' .. cause
      else
        change, why = 'unsuppressed', 'exception ' .. prevExc .. ' no longer covers it, seen in ' .. cause
      end
      redis.call('HSET', key, 'data', data, 'lastSeen', now, 'lastCause', cause, 'lastChange', change, 'state', target,
        'exception', exc, 'ix', ix, 'occurrences', tonumber(cur[6] or '0') + 1, 'score', score, 'derived', '')
    end
    if why then history(fp, now, target, why, limit) end
    if state ~= target then setState(fp, state, target) end
    if prevExc ~= exc then
      if prevExc ~= '' then redis.call('SREM', idx('exception:' .. prevExc), fp) end
      if exc ~= '' then redis.call('SADD', idx('exception:' .. exc), fp) end
    end
    if prevIx ~= ix then
      local old, new = split(prevIx), split(ix)
      for name in pairs(old) do if not new[name] then redis.call('SREM', idx(name), fp) end end
      for name in pairs(new) do if not old[name] then redis.call('SADD', idx(name), fp) end end
    end
    for name in pairs(split(acc)) do
      redis.call('SADD', idx(name), fp)
      -- Remembered so retention can take the finding out of every index it accumulated.
      redis.call('SADD', key .. ':indexes', name)
    end
    redis.call('SADD', key .. ':sources', source)
    if digest ~= '' then redis.call('SADD', key .. ':digests', digest) end
    if workload ~= '' then redis.call('SADD', key .. ':workloads', workload) end
    redis.call('ZADD', prefix .. ':findings:seen', nowMs, fp)
    -- The hash keeps the indexed score: a repost at the same risk costs no index write.
    if cur[7] ~= score then redis.call('ZADD', riskIdx, score, fp) end
  end
  out[#out + 1] = change
end
return out
`;

/*
 * Replaces the membership of a complete-report scope and resolves the open (or suppressed) findings it
 * no longer has. For an image scope of a known repository, the digest is recorded as scanned, and a
 * missing finding resolves only when no other current digest of the repository still has it; findings
 * of digests that stopped being current resolve the same way.
 * ARGV: prefix, scopeKey, now, nowMs, cause, historyLimit, repository ('' none), digest ('' none), then the fingerprints seen.
 */
const RESOLVE_SCOPE_SCRIPT = `${PRELUDE}
local scope, now, nowMs, cause, limit, repository, digest = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local setKey = scopeKey(scope)
local lastKey = scopeLastKey(scope)
-- Before 'scope-last', a scope's last answer was '<scope key>:last' among the scopes: not a scope.
if redis.call('TYPE', setKey).ok == 'hash' then redis.call('DEL', setKey) end
-- The same input again (a retried job): answer as the first time did.
if redis.call('HGET', lastKey, 'cause') == cause then
  return cjson.decode(redis.call('HGET', lastKey, 'resolved'))
end
local seen = {}
for i = 9, #ARGV do seen[ARGV[i]] = true end
local candidates = {}
for _, fp in ipairs(redis.call('SMEMBERS', setKey)) do
  if not seen[fp] then candidates[fp] = true end
end
redis.call('DEL', setKey)
for i = 9, #ARGV, 5000 do
  redis.call('SADD', setKey, unpack(ARGV, i, math.min(i + 4999, #ARGV)))
end
local live = {}
if repository ~= '' and digest ~= '' then
  -- First scan time orders digests: a nightly rescan of an old digest does not make it the newest.
  redis.call('ZADD', prefix .. ':image:' .. repository .. ':scans', 'NX', nowMs, digest)
  redis.call('SADD', prefix .. ':image:' .. repository .. ':scopes', scope)
  local gone
  live, gone = reconcile(repository, scope)
  for _, key in ipairs(gone) do
    for _, fp in ipairs(redis.call('SMEMBERS', key)) do
      if not seen[fp] then candidates[fp] = true end
    end
  end
end
local resolved = {}
resolveUnless(candidates, live, now, 'missing from ' .. cause, limit, resolved)
-- cjson writes an empty table as {}: keep the JSON array shape for the retry answer.
redis.call('HSET', lastKey, 'cause', cause, 'resolved', #resolved == 0 and '[]' or cjson.encode(resolved))
return resolved
`;

/*
 * Records which digest each running slot runs (from workload assets) and resolves findings of digests
 * that stopped being current. ARGV: prefix, now, nowMs, cause, historyLimit, then (repository, slot, digest or '').
 */
const RECORD_RUNNING_SCRIPT = `${PRELUDE}
local now, nowMs, cause, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local touched = {}
for i = 6, #ARGV, 3 do
  local running = prefix .. ':image:' .. ARGV[i] .. ':running'
  if ARGV[i + 2] == '' then redis.call('HDEL', running, ARGV[i + 1]) else redis.call('HSET', running, ARGV[i + 1], ARGV[i + 2]) end
  touched[ARGV[i]] = true
end
local resolved = {}
for repository in pairs(touched) do
  -- The same input again (a retried job): its slots are already recorded, so reconciling finds nothing
  -- dropped; answer with what the first attempt resolved, or routing never hears of it.
  local lastKey = prefix .. ':image:' .. repository .. ':running-last'
  if redis.call('HGET', lastKey, 'cause') == cause then
    for _, fp in ipairs(cjson.decode(redis.call('HGET', lastKey, 'resolved'))) do resolved[#resolved + 1] = fp end
  else
    local live, gone = reconcile(repository, '')
    local candidates = {}
    for _, key in ipairs(gone) do
      for _, fp in ipairs(redis.call('SMEMBERS', key)) do candidates[fp] = true end
    end
    local mine = {}
    resolveUnless(candidates, live, now, 'no current digest of ' .. repository .. ' has it (' .. cause .. ')', limit, mine)
    for _, fp in ipairs(mine) do resolved[#resolved + 1] = fp end
    redis.call('HSET', lastKey, 'cause', cause, 'resolved', #mine == 0 and '[]' or cjson.encode(mine))
  end
end
return resolved
`;

/*
 * After an exception ended: findings it suppressed either move to the exception that covers them now or
 * reopen (returned, to be routed as new). 'ending' names the end (its job): the same end again (a retried
 * job, whose first attempt already moved the findings) answers with what the first attempt reopened.
 * ARGV: prefix, now, cause, historyLimit, endedId, ending ('' none), then (fingerprint, exception or '').
 */
const RELEASE_SCRIPT = `${PRELUDE}
local now, cause, limit, ended, ending = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local lastKey = prefix .. ':release:' .. ended
if ending ~= '' and redis.call('HGET', lastKey, 'ending') == ending then
  return cjson.decode(redis.call('HGET', lastKey, 'reopened'))
end
local reopened = {}
for i = 7, #ARGV, 2 do
  local fp, exc = ARGV[i], ARGV[i + 1]
  local key = fkey(fp)
  local cur = redis.call('HMGET', key, 'state', 'exception')
  if cur[1] == 'suppressed' and cur[2] == ended then
    redis.call('SREM', idx('exception:' .. ended), fp)
    if exc ~= '' then
      redis.call('HSET', key, 'exception', exc)
      redis.call('SADD', idx('exception:' .. exc), fp)
      history(fp, now, 'suppressed', cause .. '; now covered by exception ' .. exc, limit)
    else
      redis.call('HSET', key, 'state', 'open', 'exception', '')
      setState(fp, 'suppressed', 'open')
      history(fp, now, 'open', cause, limit)
      reopened[#reopened + 1] = fp
    end
  end
end
if ending ~= '' then
  -- Kept as long as a job of this end can still be retried, or replayed from the dead letters soon after.
  redis.call('HSET', lastKey, 'ending', ending, 'reopened', #reopened == 0 and '[]' or cjson.encode(reopened))
  redis.call('EXPIRE', lastKey, ${RELEASE_ANSWER_TTL_SECONDS})
end
return reopened
`;

/*
 * A context change rescored stored findings: their risk, environment and exposure as correlation now
 * sees them, kept beside the report (\`derived\`, read over it) and in the risk index. Findings not
 * stored (yet) are skipped: their report will carry the risk. ARGV: prefix, then (fingerprint, derived JSON, score).
 */
const SET_DERIVED_SCRIPT = `${PRELUDE}
for i = 2, #ARGV, 3 do
  local key = fkey(ARGV[i])
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'derived', ARGV[i + 1], 'score', ARGV[i + 2])
    redis.call('ZADD', riskIdx, ARGV[i + 2], ARGV[i])
  end
end
return 0
`;

/*
 * Retention: removes findings resolved before 'cutoff' (ISO time; resolvedAt, or lastSeen for findings
 * resolved before it was recorded) with their history, sets and every index entry. A finding that
 * reopened since it was listed is kept. ARGV: prefix, cutoff, then fingerprints. Returns those removed.
 */
const REMOVE_RESOLVED_SCRIPT = `${PRELUDE}
local cutoff, removed = ARGV[2], {}
for i = 3, #ARGV do
  local fp = ARGV[i]
  local key = fkey(fp)
  local h = redis.call('HMGET', key, 'state', 'resolvedAt', 'lastSeen', 'ix')
  local at = h[2] or h[3]
  if h[1] == 'resolved' and at and at < cutoff then
    for name in string.gmatch(h[4] or '', '[^\\n]+') do redis.call('SREM', idx(name), fp) end
    for _, name in ipairs(redis.call('SMEMBERS', key .. ':indexes')) do redis.call('SREM', idx(name), fp) end
    -- Findings stored before ':indexes' existed: the indexes their digests and workloads put them in.
    for _, d in ipairs(redis.call('SMEMBERS', key .. ':digests')) do redis.call('SREM', idx('digest:' .. d), fp) end
    for _, w in ipairs(redis.call('SMEMBERS', key .. ':workloads')) do redis.call('SREM', idx('workload:' .. w), fp) end
    redis.call('SREM', idx('state:resolved'), fp)
    redis.call('SREM', prefix .. ':findings', fp)
    redis.call('ZREM', prefix .. ':findings:seen', fp)
    redis.call('ZREM', riskIdx, fp)
    redis.call('DEL', key, key .. ':history', key .. ':sources', key .. ':digests', key .. ':workloads', key .. ':indexes')
    removed[#removed + 1] = fp
  end
end
return removed
`;

/*
 * Retention: forgets digests of an image repository that stopped being current and were first scanned
 * before 'cutoffMs': their scope memberships and last answers, and their place among the repository's
 * scans. Their findings resolved when the digest stopped being current. ARGV: prefix, repository, cutoffMs.
 * Returns the digests forgotten.
 */
const FORGET_DIGESTS_SCRIPT = `${PRELUDE}
local repository, cutoff = ARGV[2], ARGV[3]
local image = prefix .. ':image:' .. repository
local current = {}
for _, d in ipairs(redis.call('SMEMBERS', image .. ':current')) do current[d] = true end
local gone = {}
for _, d in ipairs(redis.call('ZRANGEBYSCORE', image .. ':scans', '-inf', '(' .. cutoff)) do
  if not current[d] then gone[d] = true end
end
local forgotten = {}
for _, scope in ipairs(redis.call('SMEMBERS', image .. ':scopes')) do
  if gone[digestOf(scope)] then
    redis.call('DEL', scopeKey(scope), scopeLastKey(scope))
    redis.call('SREM', image .. ':scopes', scope)
  end
end
for d in pairs(gone) do
  redis.call('ZREM', image .. ':scans', d)
  forgotten[#forgotten + 1] = d
end
return forgotten
`;

/*
 * Finding fingerprints matching every filter (each filter an OR of index names) and a minimum risk,
 * most recently seen first. ARGV: prefix, offset, limit, minRisk ('' none), then one '\\n'-joined list
 * of index names per filter. Returns {total, page}.
 */
const QUERY_SCRIPT = `
local prefix, offset, limit, minRisk = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local seen = prefix .. ':findings:seen'
if #ARGV == 4 and minRisk == '' then
  return {redis.call('ZCARD', seen), redis.call('ZREVRANGE', seen, offset, offset + limit - 1)}
end
local keys, weights, temp = {seen}, {1}, {}
if minRisk ~= '' then
  local t = prefix .. ':query:risk'
  redis.call('ZRANGESTORE', t, prefix .. ':findings:risk', minRisk, '+inf', 'BYSCORE')
  keys[#keys + 1] = t
  weights[#weights + 1] = 0
  temp[#temp + 1] = t
end
for i = 5, #ARGV do
  local names = {}
  for name in string.gmatch(ARGV[i], '[^\\n]+') do names[#names + 1] = prefix .. ':idx:' .. name end
  if #names == 1 then
    keys[#keys + 1] = names[1]
  else
    local t = prefix .. ':query:union:' .. i
    redis.call('SUNIONSTORE', t, unpack(names))
    keys[#keys + 1] = t
    temp[#temp + 1] = t
  end
  weights[#weights + 1] = 0
end
local result = prefix .. ':query:result'
-- Weight 0 for the index sets: the score left is the last-seen time, so the order is most recent first.
local args = {result, #keys}
for _, k in ipairs(keys) do args[#args + 1] = k end
args[#args + 1] = 'WEIGHTS'
for _, w in ipairs(weights) do args[#args + 1] = w end
redis.call('ZINTERSTORE', unpack(args))
local total = redis.call('ZCARD', result)
local page = redis.call('ZREVRANGE', result, offset, offset + limit - 1)
temp[#temp + 1] = result
redis.call('DEL', unpack(temp))
return {total, page}
`;

/**
 * An index value as it goes into an index name: control characters (the scripts split name lists on
 * newlines) and `%` percent-encoded, so no value names another index. Ordinary values are unchanged,
 * so indexes written before this keep working.
 */
export function indexValue(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

const index = (name: string, value: string) => `${name}:${indexValue(value)}`;

function sourceKey(f: Finding): string {
  return `${f.source.tool}/${f.source.integration}`;
}

/** `cluster/namespace/kind/name`, the parts that are known. */
export function workloadKey(w: Finding['workload']): string {
  return w ? [w.cluster, w.namespace, w.kind, w.name].filter(Boolean).join('/') : '';
}

/** Index names a finding's current report puts it in (replaced when a newer report differs). */
function attributeIndexes(f: Finding): string[] {
  const names = [index('kind', f.kind), index('severity', f.severity)];
  if (f.artifact?.repository) names.push(index('image', f.artifact.repository));
  if (f.code?.repo) names.push(index('repo', f.code.repo));
  return names;
}

/** Index names that accumulate: every digest and workload a finding was ever reported in. */
function accumulatingIndexes(f: Finding): string[] {
  const names: string[] = [];
  if (f.artifact?.digest) names.push(index('digest', f.artifact.digest));
  if (f.workload?.name) {
    names.push(index('workload', workloadKey(f.workload)));
    if (f.workload.namespace) names.push(index('workload', `${f.workload.namespace}/${f.workload.name}`));
  }
  return names;
}

/** The query's filters as index names: one OR-list per filter. */
function filterIndexes(filter: FindingFilter): string[] {
  const groups: [Exclude<keyof FindingFilter, 'minRisk'>, string][] = [
    ['state', 'state'],
    ['kind', 'kind'],
    ['severity', 'severity'],
    ['image', 'image'],
    ['digest', 'digest'],
    ['workload', 'workload'],
    ['repo', 'repo'],
  ];
  return groups
    .filter(([name]) => filter[name]?.length)
    .map(([name, field]) => filter[name]!.map((v) => index(field, v)).join('\n'));
}

/**
 * Every key of finding state is spelled here: `<prefix>:finding:<fp>` (+ `:history`, `:sources`,
 * `:digests`, `:workloads`), the secondary indexes `<prefix>:idx:<name>:<value>`, the last-seen order
 * `<prefix>:findings:seen`, the current risk order `<prefix>:findings:risk`, scope memberships `<prefix>:scope:<key>` (and the
 * answer of each scope's last report, `<prefix>:scope-last:<key>`), the current digests of each
 * image repository `<prefix>:image:<repository>:{scans,running,current,scopes,running-last}`, and the
 * answer of an exception's last end `<prefix>:release:<exception id>`.
 */
export class FindingRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.upsertFindings) {
      redis.defineCommand('upsertFindings', { numberOfKeys: 0, lua: UPSERT_SCRIPT });
      redis.defineCommand('resolveScope', { numberOfKeys: 0, lua: RESOLVE_SCOPE_SCRIPT });
      redis.defineCommand('recordRunning', { numberOfKeys: 0, lua: RECORD_RUNNING_SCRIPT });
      redis.defineCommand('releaseSuppressed', { numberOfKeys: 0, lua: RELEASE_SCRIPT });
      redis.defineCommand('queryFindings', { numberOfKeys: 0, lua: QUERY_SCRIPT });
      redis.defineCommand('setDerivedFindings', { numberOfKeys: 0, lua: SET_DERIVED_SCRIPT });
      redis.defineCommand('removeResolvedFindings', { numberOfKeys: 0, lua: REMOVE_RESOLVED_SCRIPT });
      redis.defineCommand('forgetDigests', { numberOfKeys: 0, lua: FORGET_DIGESTS_SCRIPT });
    }
  }

  private key(fp: string) {
    return `${this.prefix}:finding:${fp}`;
  }

  /** Upserts a batch with one script call per chunk, all in one pipeline. Returns the change per finding. */
  async upsert(items: FindingUpsert[], now: Date, cause: string): Promise<UpsertChange[]> {
    if (!items.length) return [];
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < items.length; i += CHUNK) {
      const args: string[] = [this.prefix, now.toISOString(), String(now.getTime()), cause, String(HISTORY_LIMIT)];
      for (const { finding: f, exception } of items.slice(i, i + CHUNK)) {
        const { state: _state, ...data } = f;
        args.push(
          f.fingerprint,
          JSON.stringify(data),
          sourceKey(f),
          f.artifact?.digest ?? '',
          f.workload?.name ? workloadKey(f.workload) : '',
          exception ?? '',
          attributeIndexes(f).join('\n'),
          accumulatingIndexes(f).join('\n'),
          String(f.risk?.score ?? 0),
        );
      }
      pipeline.upsertFindings(...args);
    }
    const results = await pipeline.exec();
    return results!.flatMap(([err, changes]) => {
      if (err) throw err;
      return changes as UpsertChange[];
    });
  }

  /**
   * Resolves what a complete report of `scope` no longer contains; returns their fingerprints. With the
   * image repository of an `image:<digest>` scope, resolution is per repository (current digests).
   */
  async resolveScope(scope: Scope, seen: string[], now: Date, cause: string, image?: { repository: string; digest: string }): Promise<string[]> {
    return (await this.redis.resolveScope(
      this.prefix,
      scope.key,
      now.toISOString(),
      String(now.getTime()),
      cause,
      String(HISTORY_LIMIT),
      image?.repository ?? '',
      image?.digest ?? '',
      ...seen,
    )) as string[];
  }

  /** Records the digests running slots run now; returns findings resolved because their digest stopped being current. */
  async recordRunning(running: RunningSlot[], now: Date, cause: string): Promise<string[]> {
    if (!running.length) return [];
    const args = running.flatMap((r) => [r.repository, r.slot, r.digest ?? '']);
    return (await this.redis.recordRunning(this.prefix, now.toISOString(), String(now.getTime()), cause, String(HISTORY_LIMIT), ...args)) as string[];
  }

  /** Fingerprints currently suppressed by an exception. */
  async suppressedBy(exceptionId: string): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}:idx:exception:${exceptionId}`);
  }

  /**
   * After exception `ended` stopped holding: each finding moves to the exception now covering it, or
   * reopens. Returns the reopened fingerprints. Idempotent: only findings still suppressed by `ended` move;
   * with `ending` (which end this is), the same end again returns what it reopened the first time.
   */
  async release(ended: string, coveredNow: Map<string, string | undefined>, now: Date, cause: string, ending = ''): Promise<string[]> {
    if (!coveredNow.size && !ending) return [];
    const args = [...coveredNow].flatMap(([fp, exc]) => [fp, exc ?? '']);
    return (await this.redis.releaseSuppressed(this.prefix, now.toISOString(), cause, String(HISTORY_LIMIT), ended, ending, ...args)) as string[];
  }

  /**
   * Writes what a context change derived for stored findings (risk, environment, exposure), one script
   * call per chunk in one pipeline, so reads and the risk filter agree with the correlated context.
   */
  async setDerived(derived: Map<string, DerivedFields>): Promise<void> {
    if (!derived.size) return;
    const entries = [...derived];
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < entries.length; i += CHUNK) {
      pipeline.setDerivedFindings(this.prefix, ...entries.slice(i, i + CHUNK).flatMap(([fp, d]) => [fp, JSON.stringify(d), String(d.risk.score)]));
    }
    for (const [err] of (await pipeline.exec())!) if (err) throw err;
  }

  /** Fingerprints matching the filter, most recently seen first, with the total count. */
  async query(filter: FindingFilter, offset: number, limit: number): Promise<{ total: number; fingerprints: string[] }> {
    const minRisk = filter.minRisk === undefined ? '' : String(filter.minRisk);
    const [total, fingerprints] = (await this.redis.queryFindings(this.prefix, String(offset), String(limit), minRisk, ...filterIndexes(filter))) as [
      number,
      string[],
    ];
    return { total, fingerprints };
  }

  /** Loads records in one pipeline; missing fingerprints are left out. */
  async getMany(fingerprints: string[]): Promise<FindingRecord[]> {
    if (!fingerprints.length) return [];
    const pipeline = this.redis.pipeline();
    for (const fp of fingerprints) {
      const key = this.key(fp);
      pipeline
        .hgetall(key)
        .lrange(`${key}:history`, 0, -1)
        .smembers(`${key}:sources`)
        .smembers(`${key}:digests`)
        .smembers(`${key}:workloads`);
    }
    const results = (await pipeline.exec())!.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const records: FindingRecord[] = [];
    for (let i = 0; i < results.length; i += 5) {
      const hash = results[i] as Record<string, string>;
      if (!hash.data) continue;
      const finding = findingSchema.parse(JSON.parse(hash.data));
      const derived = hash.derived ? (JSON.parse(hash.derived) as DerivedFields) : undefined;
      records.push({
        ...finding,
        ...(derived && { risk: derived.risk, environment: derived.environment ?? finding.environment, exposure: derived.exposure ?? finding.exposure }),
        state: hash.state as FindingState,
        firstSeen: hash.firstSeen,
        lastSeen: hash.lastSeen,
        occurrences: Number(hash.occurrences),
        exception: hash.exception || undefined,
        history: (results[i + 1] as string[]).map((h) => JSON.parse(h) as HistoryEntry),
        sources: (results[i + 2] as string[]).sort(),
        digests: (results[i + 3] as string[]).sort(),
        workloads: (results[i + 4] as string[]).sort(),
      } as FindingRecord);
    }
    return records;
  }

  async get(fingerprint: string): Promise<FindingRecord | undefined> {
    return (await this.getMany([fingerprint]))[0];
  }

  /**
   * Retention: removes findings resolved before `cutoff`, with their history and index entries, one
   * SSCAN page of the resolved index per script call. A removed finding seen again is new, not regressed.
   */
  async removeResolvedBefore(cutoff: Date): Promise<string[]> {
    const removed: string[] = [];
    let cursor = '0';
    do {
      const [next, fps] = await this.redis.sscan(`${this.prefix}:idx:state:resolved`, cursor, 'COUNT', CHUNK);
      if (fps.length) removed.push(...((await this.redis.removeResolvedFindings(this.prefix, cutoff.toISOString(), ...fps)) as string[]));
      cursor = next;
    } while (cursor !== '0');
    return removed;
  }

  /**
   * Retention: forgets image digests first scanned before `cutoff` that are no longer current (not the
   * newest scan, not running): their scope memberships go, as their findings resolved long ago.
   * Returns the digests forgotten, for the asset graph to drop what it keeps per digest.
   */
  async forgetStaleDigests(cutoff: Date): Promise<string[]> {
    const forgotten: string[] = [];
    const suffix = ':scans';
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:image:*${suffix}`, 'COUNT', 1000);
      for (const key of keys) {
        const repository = key.slice(`${this.prefix}:image:`.length, -suffix.length);
        forgotten.push(...((await this.redis.forgetDigests(this.prefix, repository, String(cutoff.getTime()))) as string[]));
      }
      cursor = next;
    } while (cursor !== '0');
    return forgotten;
  }

  async count(): Promise<number> {
    return this.redis.scard(`${this.prefix}:findings`);
  }
}

/** The Finding part of a record (what routing and destinations read), its current state set. */
export function findingOf(record: FindingRecord): Finding {
  const {
    firstSeen: _f,
    lastSeen: _l,
    occurrences: _o,
    sources: _s,
    digests: _d,
    workloads: _w,
    exception: _e,
    history: _h,
    ...finding
  } = record;
  return finding as Finding;
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    upsertFindings(...args: string[]): Result<string[], Context>;
    resolveScope(...args: string[]): Result<string[], Context>;
    recordRunning(...args: string[]): Result<string[], Context>;
    releaseSuppressed(...args: string[]): Result<string[], Context>;
    queryFindings(...args: string[]): Result<[number, string[]], Context>;
    setDerivedFindings(...args: string[]): Result<number, Context>;
    removeResolvedFindings(...args: string[]): Result<string[], Context>;
    forgetDigests(...args: string[]): Result<string[], Context>;
  }
}
