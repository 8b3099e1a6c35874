import { randomUUID } from 'node:crypto';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import type { ChainableCommander, Redis } from 'ioredis';
import { redactUrls } from '../logging/redact';
import type { RetentionConfig } from '../config/schema';

export type EventStatus = 'received' | 'parsed' | 'triaged' | 'routed' | 'quarantined' | 'ignored';

export interface InputEvent {
  id: string;
  integration: string;
  format?: string;
  /** Upload context or webhook metadata (repo, commit, pr, image, digest, delivery id, …). */
  context: Record<string, unknown>;
  receivedAt: string;
  contentType?: string;
}

export interface ParseFailure {
  message: string;
  path?: string;
}

export interface EventView extends InputEvent {
  status: EventStatus;
  sizeBytes: number;
  parsed?: { format: string; findings: number; assets: number; scopes: number };
  triage?: Record<string, number>;
  routed?: { notifications: number; destinations: string[] };
  /**
   * Stored findings this input's context change rescored onto new routes, and what telling them took,
   * summed over the groups that told them (kept apart from `routed`, the input's own findings).
   */
  rescored?: { findings: number; notifications: number; destinations: string[] };
  deliveries: Record<string, unknown>;
  error?: ParseFailure;
  /** Why a well-formed input carried nothing to process. */
  ignored?: string;
  /** Why a quarantined input's body is no longer kept (retention.quarantine caps): it cannot be replayed. */
  bodyDropped?: string;
  replays: number;
}

function sumRescored(flushes: NonNullable<EventView['rescored']>[]): EventView['rescored'] {
  if (!flushes.length) return undefined;
  return {
    findings: flushes.reduce((n, f) => n + f.findings, 0),
    notifications: flushes.reduce((n, f) => n + f.notifications, 0),
    destinations: [...new Set(flushes.flatMap((f) => f.destinations))].sort(),
  };
}

export type EventRetention = Pick<RetentionConfig, 'events' | 'quarantine'>;

const DEFAULT_RETENTION: EventRetention = {
  events: 7 * 86_400_000,
  quarantine: { keep: 30 * 86_400_000, maxItemBytes: 1_048_576, maxTotalBytes: 268_435_456 },
};

export function newEventId(): string {
  return `evt_${Date.now().toString(36)}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** Raw inputs and what became of them. Every key of the event store is spelled here. */
export class EventRepository {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retention: EventRetention = DEFAULT_RETENTION,
  ) {
    this.ttlSeconds = Math.ceil(retention.events / 1000);
  }

  private key(id: string) {
    return `${this.prefix}:event:${id}`;
  }
  private rawKey(id: string) {
    return `${this.prefix}:event:${id}:raw`;
  }
  private deliveriesKey(id: string) {
    return `${this.prefix}:event:${id}:deliveries`;
  }
  private rescoredKey(id: string) {
    return `${this.prefix}:event:${id}:rescored`;
  }
  private get quarantineKey() {
    return `${this.prefix}:quarantine`;
  }
  /** Event id → bytes of its kept quarantined body. */
  private get quarantineSizesKey() {
    return `${this.prefix}:quarantine:sizes`;
  }
  /** Bytes of all kept quarantined bodies, against retention.quarantine.maxTotalBytes. */
  private get quarantineBytesKey() {
    return `${this.prefix}:quarantine:bytes`;
  }

  /** Stores the raw body before anything is acknowledged: nothing accepted is ever lost. */
  async store(event: InputEvent, raw: string): Promise<void> {
    const fields: Record<string, string> = {
      id: event.id,
      integration: event.integration,
      context: JSON.stringify(event.context),
      receivedAt: event.receivedAt,
      status: 'received',
      sizeBytes: String(Buffer.byteLength(raw)),
      replays: '0',
    };
    if (event.format) fields.format = event.format;
    if (event.contentType) fields.contentType = event.contentType;
    await this.redis
      .multi()
      .hset(this.key(event.id), fields)
      .set(this.rawKey(event.id), packBody(raw))
      .expire(this.key(event.id), this.ttlSeconds)
      .expire(this.rawKey(event.id), this.ttlSeconds)
      .exec();
  }

  async raw(id: string): Promise<string | null> {
    const stored = await this.redis.getBuffer(this.rawKey(id));
    return stored === null ? null : unpackBody(stored);
  }

  async get(id: string): Promise<EventView | null> {
    const [[, hash], [, deliveries], [, rescored]] = (await this.redis
      .multi()
      .hgetall(this.key(id))
      .hgetall(this.deliveriesKey(id))
      .hgetall(this.rescoredKey(id))
      .exec()) as [[null, Record<string, string>], [null, Record<string, string>], [null, Record<string, string>]];
    if (!hash.id) return null;
    const json = (v: string | undefined) => (v ? JSON.parse(v) : undefined);
    return {
      id: hash.id,
      integration: hash.integration,
      format: hash.format,
      context: json(hash.context) ?? {},
      receivedAt: hash.receivedAt,
      contentType: hash.contentType,
      status: hash.status as EventStatus,
      sizeBytes: Number(hash.sizeBytes ?? 0),
      parsed: json(hash.parsed),
      triage: json(hash.triage),
      routed: json(hash.routed),
      rescored: sumRescored(Object.values(rescored).map((v) => JSON.parse(v))),
      error: json(hash.error),
      ignored: hash.ignored,
      bodyDropped: hash.bodyDropped,
      replays: Number(hash.replays ?? 0),
      deliveries: Object.fromEntries(Object.entries(deliveries).map(([k, v]) => [k, JSON.parse(v)])),
    };
  }

  /**
   * Records a stage's outcome. A job replayed after the event expired must not leave a hash that
   * never expires: the TTL is set when the key has none (a quarantined event is never marked).
   */
  private async update(id: string, fields: Record<string, string>): Promise<void> {
    const write = this.redis.multi();
    this.updateIn(write, id, fields);
    await write.exec();
  }

  /** `update` added to a pipeline or MULTI the caller sends. */
  private updateIn(pipeline: ChainableCommander, id: string, fields: Record<string, string>): void {
    pipeline.hset(this.key(id), fields).expire(this.key(id), this.ttlSeconds, 'NX');
  }

  async markParsed(id: string, parsed: NonNullable<EventView['parsed']>): Promise<void> {
    await this.update(id, { status: 'parsed', format: parsed.format, parsed: JSON.stringify(parsed) });
  }

  async markTriaged(id: string, counts: Record<string, number>): Promise<void> {
    await this.update(id, { status: 'triaged', triage: JSON.stringify(counts) });
  }

  /** What a group flush routed of the input, added to a pipeline the caller sends. */
  markRoutedIn(pipeline: ChainableCommander, id: string, routed: NonNullable<EventView['routed']>): void {
    this.updateIn(pipeline, id, { status: 'routed', routed: JSON.stringify(routed) });
  }

  /** Rescore routing told by one group flush (`flush` names it, so a retried flush counts once), added to a pipeline the caller sends. */
  markRescoredIn(pipeline: ChainableCommander, id: string, flush: string, told: NonNullable<EventView['rescored']>): void {
    pipeline.hset(this.rescoredKey(id), flush, JSON.stringify(told)).expire(this.rescoredKey(id), this.ttlSeconds);
  }

  /** Records what a delivery did on its event, added to a pipeline the caller sends. */
  recordDeliveryIn(pipeline: ChainableCommander, id: string, name: string, outcome: Record<string, unknown>): void {
    pipeline.hset(this.deliveriesKey(id), name, JSON.stringify(outcome)).expire(this.deliveriesKey(id), this.ttlSeconds);
  }

  /** Keeps the raw input (retention.quarantine: its own TTL and size caps) and lists it for replay after a fix. */
  async quarantine(id: string, error: ParseFailure, at: Date): Promise<void> {
    const { keep, maxItemBytes, maxTotalBytes } = this.retention.quarantine;
    // Sizes are the body's as received (it is stored compressed when that pays).
    const [stored, received, before] = await Promise.all([
      this.redis.strlen(this.rawKey(id)),
      this.redis.hget(this.key(id), 'sizeBytes'),
      this.redis.hget(this.quarantineSizesKey, id),
    ]);
    const size = stored === 0 ? 0 : Number(received ?? stored);
    const kept = size > maxItemBytes ? 0 : size;
    const write = this.redis
      .multi()
      .hset(this.key(id), { status: 'quarantined', error: JSON.stringify({ ...error, message: redactUrls(error.message) }) })
      .pexpire(this.key(id), keep)
      .zadd(this.quarantineKey, at.getTime(), id)
      .hset(this.quarantineSizesKey, id, kept)
      .incrby(this.quarantineBytesKey, kept - Number(before ?? 0));
    if (size > maxItemBytes) {
      write.del(this.rawKey(id)).hset(this.key(id), { bodyDropped: `larger than retention.quarantine.maxItemBytes (${maxItemBytes} bytes)` });
    } else {
      write.pexpire(this.rawKey(id), keep);
    }
    await write.exec();
    // Over the total: the oldest quarantined events go first (never the one just kept).
    while (Number(await this.redis.get(this.quarantineBytesKey)) > maxTotalBytes) {
      const [oldest] = await this.redis.zrange(this.quarantineKey, 0, 0);
      if (!oldest || oldest === id) break;
      await this.unlist([oldest]);
      await this.redis.del(this.key(oldest), this.rawKey(oldest));
    }
  }

  /** Takes events out of the quarantine listing and their bodies out of its total; returns how many were listed. */
  private async unlist(ids: string[]): Promise<number> {
    const sizes = await this.redis.hmget(this.quarantineSizesKey, ...ids);
    const bytes = sizes.reduce((sum, v) => sum + Number(v ?? 0), 0);
    const [[, removed]] = (await this.redis
      .multi()
      .zrem(this.quarantineKey, ...ids)
      .hdel(this.quarantineSizesKey, ...ids)
      .decrby(this.quarantineBytesKey, bytes)
      .exec()) as [[null, number], ...unknown[]];
    return removed;
  }

  /** Retention: unlists quarantined events older than `cutoff` (their records and bodies expired with their TTL). */
  async unlistQuarantinedBefore(cutoff: Date): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.quarantineKey, '-inf', cutoff.getTime());
    return ids.length ? this.unlist(ids) : 0;
  }

  /** Bytes of quarantined bodies kept, against retention.quarantine.maxTotalBytes. */
  async quarantinedBytes(): Promise<number> {
    return Number((await this.redis.get(this.quarantineBytesKey)) ?? 0);
  }

  async listQuarantine(offset: number, limit: number): Promise<{ total: number; items: EventView[] }> {
    const [total, ids] = await Promise.all([this.redis.zcard(this.quarantineKey), this.redis.zrevrange(this.quarantineKey, offset, offset + limit - 1)]);
    const items = (await Promise.all(ids.map((id) => this.get(id)))).filter((e): e is EventView => e !== null);
    return { total, items };
  }

  async isQuarantined(id: string): Promise<boolean> {
    return (await this.redis.zscore(this.quarantineKey, id)) !== null;
  }

  /** Takes an event out of quarantine for another try; it expires again like any event. */
  async release(id: string): Promise<void> {
    await this.unlist([id]);
    await this.redis
      .multi()
      .hset(this.key(id), { status: 'received' })
      .hdel(this.key(id), 'error')
      .hincrby(this.key(id), 'replays', 1)
      .expire(this.key(id), this.ttlSeconds)
      .expire(this.rawKey(id), this.ttlSeconds)
      .exec();
  }

  async markIgnored(id: string, reason: string): Promise<void> {
    await this.update(id, { status: 'ignored', ignored: reason });
  }

  /**
   * Claims a sender's delivery id (X-GitHub-Delivery) for an event. Returns the event id that claimed
   * it first when this is a redelivery, undefined when this event is the first.
   */
  async claimDelivery(integration: string, deliveryId: string, eventId: string): Promise<string | undefined> {
    const key = `${this.prefix}:delivery:${integration}:${deliveryId}`;
    const claimed = await this.redis.set(key, eventId, 'EX', this.ttlSeconds, 'NX');
    return claimed ? undefined : ((await this.redis.get(key)) ?? undefined);
  }

  /** Gives a delivery id back when its event could not be taken in, so the sender's retry is processed. */
  async releaseDelivery(integration: string, deliveryId: string, eventId: string): Promise<void> {
    const key = `${this.prefix}:delivery:${integration}:${deliveryId}`;
    // Only the claim this event made: a later event may hold it by now.
    if ((await this.redis.get(key)) === eventId) await this.redis.del(key);
  }

  async setFormat(id: string, format: string): Promise<void> {
    await this.redis.hset(this.key(id), { format });
  }
}

/** Bodies from this size on are stored gzip-compressed (level 1: a 50 KB JSON body in well under a millisecond, to about a tenth). */
const PACK_FROM_BYTES = 2_048;
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * A raw body as stored: text as it came, or gzip when it is large. Text bodies (JSON, YAML, NDJSON) never
 * start with gzip's magic bytes (0x8b is no UTF-8 lead byte), so a stored value tells which it is.
 */
export function packBody(raw: string): string | Buffer {
  if (raw.length < PACK_FROM_BYTES) return raw;
  return gzipSync(raw, { level: constants.Z_BEST_SPEED });
}

export function unpackBody(stored: Buffer): string {
  if (stored[0] === GZIP_MAGIC[0] && stored[1] === GZIP_MAGIC[1]) return gunzipSync(stored).toString('utf8');
  return stored.toString('utf8');
}
