import type { Redis, Result } from 'ioredis';
import { findingSchema, type Finding } from '@klaxon/findings';
import type { NotificationChanges } from '../notification';

/** Why a change was routed (the route job's cause): the event records rescore routing on its own. */
export type ChangeCause = 'batch' | 'rescore' | 'exception-release';

/** A change of one finding waiting in a group for the group's next flush. */
export interface PendingChange {
  /**
   * `unsuppressed`, `rescored` and `updated` count as new where the group has not told the finding
   * yet; `updated` where it has is sent again, the finding among the open ones with its new data.
   */
  change: 'new' | 'regressed' | 'resolved' | 'suppressed' | 'unsuppressed' | 'rescored' | 'updated';
  finding: Finding;
  eventId?: string;
  cause?: ChangeCause;
}

/** How many findings of one input, routed for one cause, a flush told. */
export interface RoutedBy {
  event: string;
  cause: ChangeCause;
  findings: number;
}

/** The changes a route sends to one group, with the group's timing (already resolved from the route tree). */
export interface GroupChanges {
  groupId: string;
  route: string;
  labels: Record<string, string>;
  groupWait: number;
  groupInterval: number;
  changes: PendingChange[];
}

/** When the group's next flush is due; `seq` names that window (and its timer's job id). */
export interface GroupTimer {
  groupId: string;
  route: string;
  seq: number;
  flushAt: number;
}

/** What one flush decided: what to tell (if anything) and when to look again. */
export interface FlushOutcome {
  notify: boolean;
  changes: NotificationChanges;
  labels: Record<string, string>;
  /** Inputs whose changes this flush carries. */
  events: string[];
  /**
   * When the group's state was created (ms): part of notification ids, so a group removed by retention
   * and created again (its windows numbered from 1 again) never reuses an id. Absent for groups created
   * before it was recorded.
   */
  born?: number;
  /** The same inputs per cause, with how many of their findings this flush told. */
  routedBy: RoutedBy[];
  next?: { seq: number; flushAt: number };
}

/** Changes per script call, as in triage: short calls keep Redis responsive. */
const CHUNK = 1000;

/*
 * Adds changes to groups and (re)arms their timers. A timer is due no sooner than groupWait after the
 * change and groupInterval after the group's last flush; a group waiting only for its repeat is
 * brought forward (a new window: a new seq, the old timer then finds nothing to do).
 * ARGV: prefix, nowMs, then per group: groupId, route, labels JSON, wait, interval, n, then n × (fingerprint, payload).
 * Returns per group {groupId, seq, flushAt}.
 */
const ADD_SCRIPT = `
local prefix, now = ARGV[1], tonumber(ARGV[2])
local out = {}
local i = 3
while i <= #ARGV do
  local id, route, labels, wait, interval, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  local g = prefix .. ':group:' .. id
  i = i + 6
  for j = i, i + 2 * n - 1, 2 do redis.call('HSET', g .. ':pending', ARGV[j], ARGV[j + 1]) end
  i = i + 2 * n
  if redis.call('EXISTS', g) == 0 then redis.call('HSET', g, 'born', now) end
  redis.call('HSET', g, 'route', route, 'labels', labels)
  redis.call('ZADD', prefix .. ':groups', now, id)
  local f = redis.call('HMGET', g, 'seq', 'flushAt', 'lastFlush')
  local seq, flushAt = tonumber(f[1] or '0'), tonumber(f[2] or '')
  local due = now + wait
  if f[3] then due = math.max(due, tonumber(f[3]) + interval) end
  if not flushAt or flushAt > due then
    seq, flushAt = seq + 1, due
    redis.call('HSET', g, 'seq', seq, 'flushAt', flushAt)
  end
  out[#out + 1] = {id, route, seq, flushAt}
end
return out
`;

/*
 * Flushes window 'seq' of a group once: pending changes are folded into what the group has told its
 * destinations (new and regressed only when not already told open, resolved only when told open), the
 * outcome is kept (':outcome:<seq>', until its job has queued the deliveries, at most 'keepMs') so a
 * retried flush answers the same even after later windows, and the next timer (the repeat) is armed
 * while anything is open. Finding JSON is spliced as text, never re-encoded (cjson would turn [] into {}).
 * A pending payload is 'change|event|cause|json' ('change|event|json' before causes: the batch's).
 * ARGV: prefix, groupId, seq, nowMs, repeatMs, keepMs. Returns the outcome JSON, or '' for a stale window.
 */
const FLUSH_SCRIPT = `
local prefix, id, seq, now, rep, keep = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local g = prefix .. ':group:' .. id
local kept = redis.call('GET', g .. ':outcome:' .. seq)
if kept then return kept end
local f = redis.call('HMGET', g, 'seq', 'outcomeSeq', 'outcome', 'lastNotified', 'labels', 'born')
-- Kept in the group's hash before outcomes had keys of their own.
if tonumber(f[2] or '-1') == seq then return f[3] end
if tonumber(f[1] or '-1') ~= seq then return '' end
local lists = {new = {}, regressed = {}, resolved = {}}
local events, eventList, added, routedBy, byCause = {}, {}, {}, {}, {}
local updated = 0
local pending = redis.call('HGETALL', g .. ':pending')
redis.call('DEL', g .. ':pending')
for k = 1, #pending, 2 do
  local fp, payload = pending[k], pending[k + 1]
  local a = string.find(payload, '|', 1, true)
  local b = string.find(payload, '|', a + 1, true)
  local change, event = string.sub(payload, 1, a - 1), string.sub(payload, a + 1, b - 1)
  local cause, json = 'batch', string.sub(payload, b + 1)
  if string.sub(payload, b + 1, b + 1) ~= '{' then
    local c = string.find(payload, '|', b + 1, true)
    cause, json = string.sub(payload, b + 1, c - 1), string.sub(payload, c + 1)
  end
  local told = redis.call('HEXISTS', g .. ':open', fp) == 1
  local counted = false
  if change == 'new' or change == 'unsuppressed' or change == 'rescored' or change == 'regressed' or change == 'updated' then
    if not told then
      local list = change == 'regressed' and lists.regressed or lists.new
      list[#list + 1] = json
      added[fp] = true
      counted = true
    elseif change == 'updated' then
      -- Told already: its new data goes out among the open ones, and the group sends.
      updated = updated + 1
      counted = true
    end
    redis.call('HSET', g .. ':open', fp, json)
  elseif change == 'resolved' then
    if told then
      lists.resolved[#lists.resolved + 1] = json
      redis.call('HDEL', g .. ':open', fp)
      counted = true
    end
  else
    redis.call('HDEL', g .. ':open', fp)
  end
  if counted and event ~= '' then
    if not events[event] then
      events[event] = true
      eventList[#eventList + 1] = event
    end
    local key = cause .. '|' .. event
    if not byCause[key] then
      byCause[key] = {event = event, cause = cause, findings = 0}
      routedBy[#routedBy + 1] = byCause[key]
    end
    byCause[key].findings = byCause[key].findings + 1
  end
end
local open = {}
local told = redis.call('HGETALL', g .. ':open')
for k = 1, #told, 2 do
  if not added[told[k]] then open[#open + 1] = told[k + 1] end
end
local lastNotified = tonumber(f[4] or '')
local changed = #lists.new + #lists.regressed + #lists.resolved + updated > 0
local notify = changed or (#open > 0 and lastNotified ~= nil and now >= lastNotified + rep)
if notify then lastNotified = now end
redis.call('HSET', g, 'lastFlush', now)
redis.call('ZADD', prefix .. ':groups', now, id)
if notify then redis.call('HSET', g, 'lastNotified', now) end
local next = 'null'
if #told > 0 then
  local at = (lastNotified or now) + rep
  redis.call('HSET', g, 'seq', seq + 1, 'flushAt', at)
  next = '{"seq":' .. (seq + 1) .. ',"flushAt":' .. string.format('%d', at) .. '}'
else
  redis.call('HDEL', g, 'flushAt')
end
local function array(items) return '[' .. table.concat(items, ',') .. ']' end
local outcome = '{"notify":' .. tostring(notify) .. ',"labels":' .. (f[5] or '{}') ..
  ',"changes":{"new":' .. array(lists.new) .. ',"regressed":' .. array(lists.regressed) ..
  ',"resolved":' .. array(lists.resolved) .. ',"open":' .. (notify and array(open) or '[]') .. '}' ..
  ',"events":' .. (#eventList == 0 and '[]' or cjson.encode(eventList)) .. (f[6] and (',"born":' .. f[6]) or '') ..
  ',"routedBy":' .. (#routedBy == 0 and '[]' or cjson.encode(routedBy)) .. ',"next":' .. next .. '}'
redis.call('HDEL', g, 'outcomeSeq', 'outcome')
redis.call('SET', g .. ':outcome:' .. seq, outcome, 'PX', keep)
return outcome
`;

/*
 * Retention: removes a group's state. With a cutoff (ms), only a group that is idle: no timer armed,
 * nothing pending, nothing told open, no activity since the cutoff. ARGV: prefix, groupId, cutoff ('' none).
 */
const DROP_SCRIPT = `
local prefix, id, cutoff = ARGV[1], ARGV[2], tonumber(ARGV[3])
local g = prefix .. ':group:' .. id
if cutoff then
  local last = tonumber(redis.call('ZSCORE', prefix .. ':groups', id) or '0')
  if redis.call('HEXISTS', g, 'flushAt') == 1 or redis.call('EXISTS', g .. ':pending') == 1
    or redis.call('EXISTS', g .. ':open') == 1 or last > cutoff then return 0 end
end
redis.call('DEL', g, g .. ':pending', g .. ':open')
redis.call('ZREM', prefix .. ':groups', id)
return 1
`;

/**
 * Group state of the route tree (Alertmanager's aggregation groups), every key spelled here:
 * `<prefix>:group:<id>` (route, labels, window seq, timers, birth), `:pending` (changes since the last
 * flush), `:open` (findings told open to the route's destinations), `:outcome:<seq>` (a flush's answer
 * while its job runs) and `<prefix>:groups` (every group by its last activity, for retention).
 */
export class GroupRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.addToGroups) {
      redis.defineCommand('addToGroups', { numberOfKeys: 0, lua: ADD_SCRIPT });
      redis.defineCommand('flushGroup', { numberOfKeys: 0, lua: FLUSH_SCRIPT });
      redis.defineCommand('dropGroup', { numberOfKeys: 0, lua: DROP_SCRIPT });
    }
  }

  /** Adds every group's changes in one pipeline of script calls; returns each group's armed timer. */
  async add(groups: GroupChanges[], now: Date): Promise<GroupTimer[]> {
    if (!groups.length) return [];
    const pipeline = this.redis.pipeline();
    let args: string[] = [];
    let size = 0;
    const send = () => {
      if (args.length) pipeline.addToGroups(this.prefix, String(now.getTime()), ...args);
      args = [];
      size = 0;
    };
    for (const group of groups) {
      for (let i = 0; i < group.changes.length; i += CHUNK) {
        const slice = group.changes.slice(i, i + CHUNK);
        args.push(group.groupId, group.route, JSON.stringify(group.labels), String(group.groupWait), String(group.groupInterval), String(slice.length));
        for (const c of slice) args.push(c.finding.fingerprint, `${c.change}|${c.eventId ?? ''}|${c.cause ?? 'batch'}|${JSON.stringify(c.finding)}`);
        size += slice.length;
        if (size >= CHUNK) send();
      }
    }
    send();
    const timers = new Map<string, GroupTimer>();
    for (const [err, rows] of (await pipeline.exec())!) {
      if (err) throw err;
      for (const [groupId, route, seq, flushAt] of rows as [string, string, number, number][]) {
        timers.set(groupId, { groupId, route, seq, flushAt });
      }
    }
    return [...timers.values()];
  }

  /**
   * Flushes window `seq` (once; a retry gets the same outcome until `forget`, at most `keepMs`);
   * undefined when that window is over.
   */
  async flush(groupId: string, seq: number, now: Date, repeatInterval: number, keepMs = 86_400_000): Promise<FlushOutcome | undefined> {
    const raw = await this.redis.flushGroup(this.prefix, groupId, String(seq), String(now.getTime()), String(repeatInterval), String(keepMs));
    if (!raw) return undefined;
    const outcome = JSON.parse(raw) as FlushOutcome & { next: FlushOutcome['next'] | null };
    const parse = (list: unknown[]) => list.map((f) => findingSchema.parse(f));
    const { new: added, regressed, resolved, open } = outcome.changes;
    return {
      ...outcome,
      changes: { new: parse(added), regressed: parse(regressed), resolved: parse(resolved), open: parse(open) },
      // Outcomes kept from before causes existed have none.
      routedBy: outcome.routedBy ?? [],
      next: outcome.next ?? undefined,
    };
  }

  /** Groups with no activity since `beforeMs` (oldest first, at most `limit`), with their route path and last activity. */
  async inactiveSince(beforeMs: number, limit: number): Promise<{ groupId: string; route: string | null; lastActivity: number }[]> {
    const rows = await this.redis.zrangebyscore(`${this.prefix}:groups`, '-inf', beforeMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const ids = rows.filter((_, i) => i % 2 === 0);
    if (!ids.length) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(`${this.prefix}:group:${id}`, 'route');
    const routes = (await pipeline.exec())!.map(([, route]) => route as string | null);
    return ids.map((groupId, i) => ({ groupId, route: routes[i], lastActivity: Number(rows[2 * i + 1]) }));
  }

  /** Removes a group's state; with `idleBefore` (ms) only if it is idle since then (nothing armed, pending or open). */
  async remove(groupId: string, idleBefore?: number): Promise<boolean> {
    return (await this.redis.dropGroup(this.prefix, groupId, idleBefore === undefined ? '' : String(idleBefore))) === 1;
  }

  /** Drops the kept outcome of window `seq` once what it decided is queued: a retry after this finds nothing to do. */
  async forget(groupId: string, seq: number): Promise<void> {
    await this.redis.del(`${this.prefix}:group:${groupId}:outcome:${seq}`);
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    addToGroups(...args: string[]): Result<[string, string, number, number][], Context>;
    flushGroup(...args: string[]): Result<string, Context>;
    dropGroup(...args: string[]): Result<number, Context>;
  }
}
