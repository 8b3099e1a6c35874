import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import { findingJson, type Finding } from '@klaxon/findings';
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

const ADD_SCRIPT = readFileSync(resolve(__dirname, 'lua/add-to-groups.lua'), 'utf8');
const FLUSH_SCRIPT = readFileSync(resolve(__dirname, 'lua/flush-group.lua'), 'utf8');
const DROP_SCRIPT = readFileSync(resolve(__dirname, 'lua/drop-group.lua'), 'utf8');

/**
 * Group state of the route tree (Alertmanager's aggregation groups), every key spelled here, under one
 * hash tag (one add call spans many groups): `<prefix>:{groups}:group:<id>` (route, labels, window seq,
 * timers, birth), `:pending` (changes since the last flush) and `:pending:records` (their finding records),
 * `:open` (findings told open to the route's destinations), `:outcome:<seq>` (a flush's answer while its job
 * runs) and `:outcome:<seq>:records` (that window's records), and `<prefix>:{groups}:index`
 * (every group by its last activity, for retention).
 */
export class GroupRepository {
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    // {…} is a Redis Cluster hash tag: all these keys share one slot, so one script spans them (docs/redis.md, Hash tags).
    this.base = `${prefix}:{groups}`;
    if (!redis.addToGroups) {
      redis.defineCommand('addToGroups', { lua: ADD_SCRIPT });
      redis.defineCommand('flushGroup', { numberOfKeys: 7, lua: FLUSH_SCRIPT });
      redis.defineCommand('dropGroup', { numberOfKeys: 5, lua: DROP_SCRIPT });
    }
  }

  private key(groupId: string) {
    return `${this.base}:group:${groupId}`;
  }

  private get indexKey() {
    return `${this.base}:index`;
  }

  /** Adds every group's changes in one pipeline of script calls; returns each group's armed timer. */
  async add(groups: GroupChanges[], now: Date): Promise<GroupTimer[]> {
    if (!groups.length) return [];
    const pipeline = this.redis.pipeline();
    let keys: string[] = [];
    let args: (string | Buffer)[] = [];
    // A finding that reaches several groups is serialized once. As bytes: ioredis then writes each script
    // call as one buffer instead of joining the whole pipeline into one string and encoding it on write.
    const records = new Map<Finding, Buffer>();
    const record = (f: Finding) => {
      let bytes = records.get(f);
      if (!bytes) records.set(f, (bytes = Buffer.from(findingJson(f))));
      return bytes;
    };
    let size = 0;
    const send = () => {
      if (args.length) pipeline.addToGroups(keys.length + 1, ...keys, this.indexKey, String(now.getTime()), ...args);
      keys = [];
      args = [];
      size = 0;
    };
    for (const group of groups) {
      for (let i = 0; i < group.changes.length; i += CHUNK) {
        const slice = group.changes.slice(i, i + CHUNK);
        const g = this.key(group.groupId);
        keys.push(g, `${g}:pending`, `${g}:pending:records`);
        args.push(group.groupId, group.route, JSON.stringify(group.labels), String(group.groupWait), String(group.groupInterval), String(slice.length));
        for (const c of slice) {
          args.push(c.finding.fingerprint, `${c.change}|${c.eventId ?? ''}|${c.cause ?? 'batch'}|${c.finding.severity}`, record(c.finding));
        }
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
   * Flushes window `seq` (once; a retry gets the same outcome until `forgetIn`, at most `keepMs`);
   * undefined when that window is over. `records`: keep every told finding's record for the group
   * (a destination of the route shows the whole state); otherwise only its severity is kept, and
   * notifications carry records only for what changed.
   */
  async flush(groupId: string, seq: number, now: Date, repeatInterval: number, keepMs = 86_400_000, records = false): Promise<FlushOutcome | undefined> {
    const g = this.key(groupId);
    const recordsKey = `${g}:outcome:${seq}:records`;
    // The window's records are read in the same round trip: after the script they are this window's,
    // whichever run of it renamed them (a retry finds them under the same key).
    const replies = (await this.redis
      .pipeline()
      .flushGroup(
        g,
        `${g}:pending`,
        `${g}:open`,
        `${g}:outcome:${seq}`,
        this.indexKey,
        `${g}:pending:records`,
        recordsKey,
        String(seq),
        String(now.getTime()),
        String(repeatInterval),
        String(keepMs),
        groupId,
        records ? '1' : '',
      )
      .hgetall(recordsKey)
      .exec())!;
    for (const [err] of replies) if (err) throw err;
    const raw = replies[0][1] as string;
    if (!raw) return undefined;
    const stored = replies[1][1] as Record<string, string>;
    // The records were validated when their input was ingested, and stored by this repository as they were.
    const outcome = JSON.parse(raw) as FlushOutcome & { next: FlushOutcome['next'] | null; refs?: Record<'new' | 'regressed' | 'resolved' | 'open', string[]> };
    const { refs, ...rest } = outcome;
    if (refs) {
      // The script names the window's records (outcomes of earlier versions carry them inline); only those are parsed.
      const pick = (fps: string[]) => fps.flatMap((fp) => (stored[fp] === undefined ? [] : [JSON.parse(stored[fp]) as Finding]));
      rest.changes = {
        ...rest.changes,
        new: pick(refs.new),
        regressed: pick(refs.regressed),
        resolved: pick(refs.resolved),
        open: [...rest.changes.open, ...pick(refs.open)],
      };
    }
    return {
      ...rest,
      // Outcomes kept from before causes existed have none.
      routedBy: outcome.routedBy ?? [],
      next: outcome.next ?? undefined,
    };
  }

  /**
   * Drops the kept outcome of window `seq` and its records, added to a pipeline the caller sends once
   * what the outcome decided is queued: a retry after this finds nothing to do.
   */
  forgetIn(pipeline: ChainableCommander, groupId: string, seq: number): void {
    const outcome = `${this.key(groupId)}:outcome:${seq}`;
    pipeline.del(outcome, `${outcome}:records`);
  }

  /** Groups with no activity since `beforeMs` (oldest first, at most `limit`), with their route path and last activity. */
  async inactiveSince(beforeMs: number, limit: number): Promise<{ groupId: string; route: string | null; lastActivity: number }[]> {
    const rows = await this.redis.zrangebyscore(this.indexKey, '-inf', beforeMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const ids = rows.filter((_, i) => i % 2 === 0);
    if (!ids.length) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.key(id), 'route');
    const routes = (await pipeline.exec())!.map(([, route]) => route as string | null);
    return ids.map((groupId, i) => ({ groupId, route: routes[i], lastActivity: Number(rows[2 * i + 1]) }));
  }

  /** Removes a group's state; with `idleBefore` (ms) only if it is idle since then (nothing armed, pending or open). */
  async remove(groupId: string, idleBefore?: number): Promise<boolean> {
    const g = this.key(groupId);
    return (
      (await this.redis.dropGroup(
        g,
        `${g}:pending`,
        `${g}:open`,
        this.indexKey,
        `${g}:pending:records`,
        groupId,
        idleBefore === undefined ? '' : String(idleBefore),
      )) === 1
    );
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    addToGroups(numberOfKeys: number, ...keysThenArgs: (string | Buffer)[]): Result<[string, string, number, number][], Context>;
    flushGroup(
      group: string,
      pending: string,
      open: string,
      outcome: string,
      index: string,
      pendingRecords: string,
      outcomeRecords: string,
      ...args: string[]
    ): Result<string, Context>;
    dropGroup(...keysThenArgs: string[]): Result<number, Context>;
  }
}
