import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis, Result } from 'ioredis';
import { findingJson, findingSchema, type Finding, type FindingState, type Scope } from '@klaxon/findings';
import { decodeStoredJson, encodeStoredJson, findingContext } from './stored-json';

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
export type UpsertChange = 'new' | 'regressed' | 'unchanged' | 'updated' | 'suppressed' | 'unsuppressed';

/** One finding to upsert, with the exception covering it (decided by the caller, a pure function). */
export interface FindingUpsert {
  finding: Finding;
  exception?: string;
  /** What routing reads of it (routes matched, the pull request): a change makes an open finding `updated`. */
  signature?: string;
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
  /** What a link learnt later adds: the pull request and commit, the owners, the image digest. */
  code?: Finding['code'];
  labels?: Finding['labels'];
  artifact?: Finding['artifact'];
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

const lua = (name: string) => readFileSync(resolve(__dirname, 'lua', `${name}.lua`), 'utf8');
const PRELUDE = lua('finding-prelude');

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
  // With the sensor's own rule when a behaviour joined several sensors' words in one finding.
  const key = `${f.source.tool}/${f.source.integration}`;
  return f.behaviour ? `${key}#${f.rule.id}` : key;
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

/**
 * Index names that accumulate: every digest a finding was reported in, and every workload's
 * `<namespace>/<name>` (its whole key only when it has no namespace). One set per name answers both
 * spellings a query may use (filterIndexes): a workload is rarely named alike in two kinds or clusters,
 * and a second set per workload was a quarter of Redis on runtime alerts (two one-member sets each).
 */
function accumulatingIndexes(f: Finding): string[] {
  const names: string[] = [];
  if (f.artifact?.digest) names.push(index('digest', f.artifact.digest));
  if (f.workload?.name) names.push(index('workload', f.workload.namespace ? `${f.workload.namespace}/${f.workload.name}` : workloadKey(f.workload)));
  return names;
}

/**
 * One filter as the query script takes it: index sets whose members all match (`plain`), and sets whose
 * members match only when their `workloads` hold one of `exact` (`candidates`).
 */
interface FilterSets {
  plain: string[];
  candidates: string[];
  exact: string[];
}

/**
 * The sets a workload filter value reads. `<namespace>/<name>` (or a name alone) is an index of its own.
 * A whole key, `[cluster/]namespace/[kind/]name`, is looked for under the `<namespace>/<name>` it may
 * spell (with or without a kind; a cluster name may hold slashes) and under itself (what earlier
 * versions indexed, and a workload without a namespace), and only findings reported on it are kept.
 */
function workloadSets(value: string): { names: string[]; exact: boolean } {
  const parts = value.split('/');
  if (parts.length <= 2) return { names: [index('workload', value)], exact: false };
  const name = parts[parts.length - 1];
  const spellings = new Set([value, `${parts[parts.length - 3]}/${name}`, `${parts[parts.length - 2]}/${name}`]);
  return { names: [...spellings].map((v) => index('workload', v)), exact: true };
}

/** The query's filters: one OR-list of index sets per filter. */
function filterIndexes(filter: FindingFilter): FilterSets[] {
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
    .map(([name, field]) => {
      const sets: FilterSets = { plain: [], candidates: [], exact: [] };
      for (const value of new Set(filter[name])) {
        const workload = name === 'workload' ? workloadSets(value) : undefined;
        if (!workload) sets.plain.push(index(field, value));
        else if (!workload.exact) sets.plain.push(...workload.names);
        else {
          sets.candidates.push(...workload.names.filter((n) => !sets.candidates.includes(n)));
          sets.exact.push(value);
        }
      }
      return sets;
    });
}

/** The KEYS of the scripts that run after finding-prelude.lua, in its order: key prefixes under `b` (the store's base, `<prefix>:{findings}`). */
export function lifecycleKeys(b: string): string[] {
  return [`${b}:finding:`, `${b}:idx:`, `${b}:findings:seen`, `${b}:findings:risk`, `${b}:scope:`, `${b}:image:`, `${b}:release:`, `${b}:scope-last:`];
}

/**
 * Every key of finding state is spelled here, under one hash tag `<prefix>:{findings}` (a scope's
 * resolution spans findings, indexes and image digests): a finding is one hash `…:finding:<fp>` (its
 * history, sources, digests, workloads and accumulated index names are fields of it), the secondary
 * indexes `…:idx:<name>:<value>`, the last-seen order `…:findings:seen`, the current risk order
 * `…:findings:risk`, scope memberships `…:scope:<key>` (and the last answer of each, `…:scope-last:<key>`),
 * the current digests of each image repository `…:image:<repository>:{scans,running,current,scopes,running-last}`,
 * the answer of an exception's last end `…:release:<exception id>`, and a query's scratch keys `…:query:*`.
 * Earlier versions kept a finding's history and sets in keys beside its hash (`:history`, `:sources`,
 * `:digests`, `:workloads`, `:indexes`): reads fall back to them, and the scripts fold them into the hash
 * when they next change the finding (finding-prelude.lua), so stored data needs no migration.
 */
export class FindingRepository {
  private readonly base: string;
  /** The KEYS of the scripts that run after finding-prelude.lua: key prefixes, in its order. */
  private readonly lifecycleKeys: string[];

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    // {…} is a Redis Cluster hash tag: all these keys share one slot, so one script spans them (docs/redis.md, Hash tags).
    this.base = `${prefix}:{findings}`;
    const b = this.base;
    this.lifecycleKeys = lifecycleKeys(b);
    if (!redis.upsertFindings) {
      const keys = this.lifecycleKeys.length;
      redis.defineCommand('upsertFindings', { numberOfKeys: keys, lua: PRELUDE + lua('upsert-findings') });
      redis.defineCommand('resolveScope', { numberOfKeys: keys, lua: PRELUDE + lua('resolve-scope') });
      redis.defineCommand('recordRunning', { numberOfKeys: keys, lua: PRELUDE + lua('record-running') });
      redis.defineCommand('releaseSuppressed', { numberOfKeys: keys, lua: PRELUDE + lua('release-suppressed') });
      redis.defineCommand('queryFindings', { lua: lua('query-findings') });
      redis.defineCommand('setDerivedFindings', { lua: lua('set-derived') });
      redis.defineCommand('resolveRecorded', { numberOfKeys: keys, lua: PRELUDE + lua('resolve-recorded') });
      redis.defineCommand('removeResolvedFindings', { numberOfKeys: keys, lua: PRELUDE + lua('remove-resolved') });
      redis.defineCommand('forgetDigests', { numberOfKeys: keys, lua: PRELUDE + lua('forget-digests') });
    }
  }

  private key(fp: string) {
    return `${this.base}:finding:${fp}`;
  }

  /** Upserts a batch with one script call per chunk, all in one pipeline. Returns the change per finding. */
  async upsert(items: FindingUpsert[], now: Date, cause: string): Promise<UpsertChange[]> {
    if (!items.length) return [];
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < items.length; i += CHUNK) {
      const args: (string | Buffer)[] = [...this.lifecycleKeys, now.toISOString(), String(now.getTime()), cause, String(HISTORY_LIMIT)];
      for (const { finding: f, exception, signature } of items.slice(i, i + CHUNK)) {
        args.push(
          f.fingerprint,
          // Compressed (stored-json.ts), as bytes: ioredis then writes the chunk as one buffer, instead
          // of joining the whole pipeline into one string and encoding it as it writes. Its context is
          // the hash's key and `lastCause`, which the script writes with it.
          encodeStoredJson(findingJson(storedData(f)), findingContext(f.fingerprint, cause)),
          sourceKey(f),
          f.artifact?.digest ?? '',
          f.workload?.name ? workloadKey(f.workload) : '',
          exception ?? '',
          attributeIndexes(f).join('\n'),
          accumulatingIndexes(f).join('\n'),
          String(f.risk?.score ?? 0),
          signature ?? '',
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
      ...this.lifecycleKeys,
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
    return (await this.redis.recordRunning(...this.lifecycleKeys, now.toISOString(), String(now.getTime()), cause, String(HISTORY_LIMIT), ...args)) as string[];
  }

  /**
   * Resolves findings just recorded from a report older than the newest applied to their scope: the
   * newer report did not have them. Returns those resolved (the ones still open).
   */
  async resolveRecorded(fingerprints: string[], now: Date, reason: string): Promise<string[]> {
    if (!fingerprints.length) return [];
    return (await this.redis.resolveRecorded(...this.lifecycleKeys, now.toISOString(), reason, String(HISTORY_LIMIT), ...fingerprints)) as string[];
  }

  /** Fingerprints currently suppressed by an exception. */
  async suppressedBy(exceptionId: string): Promise<string[]> {
    return this.redis.smembers(`${this.base}:idx:exception:${exceptionId}`);
  }

  /**
   * After exception `ended` stopped holding: each finding moves to the exception now covering it, or
   * reopens. Returns the reopened fingerprints. Idempotent: only findings still suppressed by `ended` move;
   * with `ending` (which end this is), the same end again returns what it reopened the first time.
   */
  async release(ended: string, coveredNow: Map<string, string | undefined>, now: Date, cause: string, ending = ''): Promise<string[]> {
    if (!coveredNow.size && !ending) return [];
    const args = [...coveredNow].flatMap(([fp, exc]) => [fp, exc ?? '']);
    return (await this.redis.releaseSuppressed(
      ...this.lifecycleKeys,
      now.toISOString(),
      cause,
      String(HISTORY_LIMIT),
      ended,
      ending,
      String(RELEASE_ANSWER_TTL_SECONDS),
      ...args,
    )) as string[];
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
      const chunk = entries.slice(i, i + CHUNK);
      const keys = [`${this.base}:findings:risk`, ...chunk.map(([fp]) => this.key(fp))];
      pipeline.setDerivedFindings(keys.length, ...keys, ...chunk.flatMap(([fp, d]) => [fp, JSON.stringify(d), String(d.risk.score)]));
    }
    for (const [err] of (await pipeline.exec())!) if (err) throw err;
  }

  /** Fingerprints matching the filter, most recently seen first, with the total count. */
  async query(filter: FindingFilter, offset: number, limit: number): Promise<{ total: number; fingerprints: string[] }> {
    const minRisk = filter.minRisk === undefined ? '' : String(filter.minRisk);
    const filters = filterIndexes(filter);
    const b = this.base;
    const keys = [
      `${b}:findings:seen`,
      `${b}:findings:risk`,
      `${b}:query:result`,
      `${b}:query:risk`,
      `${b}:finding:`,
      ...filters.map((_, f) => `${b}:query:union:${f + 1}`),
    ];
    for (const { plain, candidates } of filters) keys.push(...[...plain, ...candidates].map((name) => `${b}:idx:${name}`));
    const args = filters.flatMap(({ plain, candidates, exact }) => [String(plain.length), String(candidates.length), String(exact.length), ...exact]);
    const [total, fingerprints] = (await this.redis.queryFindings(keys.length, ...keys, String(offset), String(limit), minRisk, ...args)) as [number, string[]];
    return { total, fingerprints };
  }

  /**
   * Loads records, one HGETALL each in one pipeline; missing fingerprints are left out. A finding an
   * earlier version stored and no script folded since (no `sources` field) is read from its old keys.
   */
  async getMany(fingerprints: string[]): Promise<FindingRecord[]> {
    if (!fingerprints.length) return [];
    // As bytes: `data` is compressed; the other fields are text.
    const hashes = await this.execAll(fingerprints.map((fp) => ['hgetallBuffer', this.key(fp)]));
    const found = fingerprints.flatMap((fp, i) => {
      const stored = hashes[i] as Record<string, Buffer>;
      if (!stored.data) return [];
      const hash: Record<string, string> = {};
      for (const field in stored) if (field !== 'data') hash[field] = stored[field].toString('utf8');
      return [{ fp, hash, data: stored.data }];
    });
    const old = found.filter(({ hash }) => hash.sources === undefined);
    const lists = new Map<string, StoredLists>();
    if (old.length) {
      const commands = old.flatMap(({ fp }) => {
        const key = this.key(fp);
        return [
          ['lrange', `${key}:history`, '0', '-1'],
          ['smembers', `${key}:sources`],
          ['smembers', `${key}:digests`],
          ['smembers', `${key}:workloads`],
        ];
      });
      const values = await this.execAll(commands);
      old.forEach(({ fp }, n) => {
        const [history, sources, digests, workloads] = values.slice(4 * n, 4 * n + 4) as string[][];
        lists.set(fp, { history: history.map((h) => JSON.parse(h) as HistoryEntry), sources, digests, workloads });
      });
    }
    return found.map(({ fp, hash, data }) => recordOf(fp, data, hash, lists.get(fp) ?? storedLists(hash)));
  }

  private async execAll(commands: string[][]): Promise<unknown[]> {
    return (await this.redis.pipeline(commands).exec())!.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  async get(fingerprint: string): Promise<FindingRecord | undefined> {
    return (await this.getMany([fingerprint]))[0];
  }

  /**
   * Retention: removes findings resolved before `cutoff`, with their history and index entries, one
   * SSCAN page of the resolved index per script call. A removed finding seen again is new, not regressed.
   */
  async removeResolvedBefore(cutoff: Date): Promise<string[]> {
    // Earlier versions also kept every fingerprint in a set of its own that nothing read: it goes.
    await this.redis.unlink(`${this.base}:findings`);
    const removed: string[] = [];
    let cursor = '0';
    do {
      const [next, fps] = await this.redis.sscan(`${this.base}:idx:state:resolved`, cursor, 'COUNT', CHUNK);
      if (fps.length) removed.push(...((await this.redis.removeResolvedFindings(...this.lifecycleKeys, cutoff.toISOString(), ...fps)) as string[]));
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
    const prefix = `${this.base}:image:`;
    const suffix = ':scans';
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*${suffix}`, 'COUNT', 1000);
      for (const key of keys) {
        const repository = key.slice(prefix.length, -suffix.length);
        forgotten.push(...((await this.redis.forgetDigests(...this.lifecycleKeys, repository, String(cutoff.getTime()))) as string[]));
      }
      cursor = next;
    } while (cursor !== '0');
    return forgotten;
  }

  /** How many findings are stored: the last-seen order has every one. */
  async count(): Promise<number> {
    return this.redis.zcard(`${this.base}:findings:seen`);
  }

  /**
   * How many findings match each filter (one value per index, ANDed): a SINTERCARD per filter in one
   * pipeline, no sorting and no temporary set, for counts that need no page.
   */
  async countMatching(filters: Partial<Record<'state' | 'kind' | 'severity', string>>[]): Promise<number[]> {
    const pipeline = this.redis.pipeline();
    for (const filter of filters) {
      const keys = Object.entries(filter).map(([name, value]) => `${this.base}:idx:${index(name, value)}`);
      pipeline.call('SINTERCARD', String(keys.length), ...keys);
    }
    return (await pipeline.exec())!.map(([err, n]) => {
      if (err) throw err;
      return Number(n);
    });
  }
}

/** The finding as its hash's `data` keeps it: without its state, a field of its own. */
function storedData(f: Finding): Omit<Finding, 'state'> {
  // Findings being upserted usually have no state yet: no copy then (JSON leaves an undefined state out anyway).
  if (f.state === undefined) return f;
  const { state: _state, ...data } = f;
  return data;
}

/** A finding's history and member lists, as its hash keeps them or as an earlier version kept them. */
interface StoredLists {
  history: HistoryEntry[];
  sources: string[];
  digests: string[];
  workloads: string[];
}

/**
 * The lists in a finding's hash (JSON arrays, written by the scripts); a list never written is empty. A
 * finding first seen open keeps no history until its state changes: `firstCause` implies its one entry.
 */
function storedLists(hash: Record<string, string>): StoredLists {
  const list = <T>(field: string): T[] => (hash[field] ? (JSON.parse(hash[field]) as T[]) : []);
  const history =
    hash.history === undefined && hash.firstCause !== undefined
      ? [{ at: hash.firstSeen, state: 'open' as const, cause: `first seen in ${hash.firstCause}` }]
      : list<HistoryEntry>('history');
  return { history, sources: list('sources'), digests: list('digests'), workloads: list('workloads') };
}

function recordOf(fp: string, data: Buffer, hash: Record<string, string>, lists: StoredLists): FindingRecord {
  const finding = findingSchema.parse(decodeStoredJson(data, findingContext(fp, hash.lastCause ?? '')));
  const derived = hash.derived ? (JSON.parse(hash.derived) as DerivedFields) : undefined;
  return {
    ...finding,
    ...(derived && {
      risk: derived.risk,
      environment: derived.environment ?? finding.environment,
      exposure: derived.exposure ?? finding.exposure,
      code: derived.code ?? finding.code,
      labels: derived.labels ?? finding.labels,
      artifact: derived.artifact ?? finding.artifact,
    }),
    state: hash.state as FindingState,
    firstSeen: hash.firstSeen,
    lastSeen: hash.lastSeen,
    occurrences: Number(hash.occurrences),
    exception: hash.exception || undefined,
    history: lists.history,
    sources: [...lists.sources].sort(),
    digests: [...lists.digests].sort(),
    workloads: [...lists.workloads].sort(),
  } as FindingRecord;
}

/** The Finding part of a record (what routing and destinations read), its current state set. */
export function findingOf(record: FindingRecord): Finding {
  const { firstSeen: _f, lastSeen: _l, occurrences: _o, sources: _s, digests: _d, workloads: _w, exception: _e, history: _h, ...finding } = record;
  return finding as Finding;
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    upsertFindings(...args: (string | Buffer)[]): Result<string[], Context>;
    resolveScope(...args: string[]): Result<string[], Context>;
    removeResolvedFindings(...args: string[]): Result<string[], Context>;
    forgetDigests(...args: string[]): Result<string[], Context>;
    recordRunning(...args: string[]): Result<string[], Context>;
    releaseSuppressed(...args: string[]): Result<string[], Context>;
    queryFindings(numberOfKeys: number, ...keysThenArgs: string[]): Result<[number, string[]], Context>;
    setDerivedFindings(numberOfKeys: number, ...keysThenArgs: string[]): Result<number, Context>;
    resolveRecorded(...args: string[]): Result<string[], Context>;
  }
}
