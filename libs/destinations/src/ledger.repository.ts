import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { DeliveryLedger } from './destination';

const RELEASE_LOCK_SCRIPT = readFileSync(resolve(__dirname, 'lua/release-ledger-lock.lua'), 'utf8');
const ACQUIRE_LOCK_SCRIPT = readFileSync(resolve(__dirname, 'lua/acquire-ledger-lock.lua'), 'utf8');

/** A delivery's lock, held, and what the ledger said when it was taken. */
export interface HeldDelivery {
  /** This notification reached the destination already. */
  sent: boolean;
  /** What the destination created under the notification's key, by earlier sends. */
  entry?: DeliveryLedger;
  lock: string;
  holder: string;
}

/**
 * What each destination created per notification key: `<prefix>:ledger:<destination>:<key>`, and which
 * notifications it was sent: `<prefix>:ledger-sent:<destination>:<notification id>`. Both expire after
 * `ttlMs` (retention.ledgers) without a send; every send refreshes its key's entry.
 */
export class LedgerRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.releaseLedgerLock) redis.defineCommand('releaseLedgerLock', { numberOfKeys: 1, lua: RELEASE_LOCK_SCRIPT });
    if (!redis.acquireLedgerLock) redis.defineCommand('acquireLedgerLock', { numberOfKeys: 1, lua: ACQUIRE_LOCK_SCRIPT });
  }

  private key(destination: string, notificationKey: string) {
    return `${this.prefix}:ledger:${destination}:${notificationKey}`;
  }

  private sentKey(destination: string, notificationId: string) {
    return `${this.prefix}:ledger-sent:${destination}:${notificationId}`;
  }

  private lockKey(destination: string, notificationKey: string) {
    return `${this.prefix}:ledger-lock:${destination}:${notificationKey}`;
  }

  /**
   * Holds `<prefix>:ledger-lock:<destination>:<key>` for one delivery, so two workers never send under
   * the same key at once (both would find no ledger and create twice), and reads in the same round trip
   * whether this notification was sent and the key's entry: the lock is taken first, so no other delivery
   * under the key changes them until it is released. Undefined when another delivery holds it. The holder
   * is the notification id: the same notification retried after its process died takes its own lock back
   * at once instead of waiting out the TTL, which only frees a lock whose notification is never retried.
   */
  async hold(destination: string, notificationKey: string, ttlMs: number, notificationId: string): Promise<HeldDelivery | undefined> {
    const lock = this.lockKey(destination, notificationKey);
    const replies = (await this.redis
      .pipeline()
      .acquireLedgerLock(lock, notificationId, String(ttlMs))
      .mget(this.sentKey(destination, notificationId), this.key(destination, notificationKey))
      .exec())!;
    for (const [err] of replies) if (err) throw err;
    if (replies[0][1] !== 1) return undefined;
    const [sent, entry] = replies[1][1] as (string | null)[];
    return { sent: sent !== null, entry: entry ? (JSON.parse(entry) as DeliveryLedger) : undefined, lock, holder: notificationId };
  }

  async release(held: HeldDelivery): Promise<void> {
    await this.redis.releaseLedgerLock(held.lock, held.holder);
  }

  /** The lock's release, added to the MULTI (or pipeline) the caller sends after what it records under the lock. */
  releaseIn(pipeline: ChainableCommander, held: HeldDelivery): void {
    pipeline.releaseLedgerLock(held.lock, held.holder);
  }

  /**
   * Records a send: the key's entry and the notification id, added to a MULTI the caller sends (so a
   * retried job sees both or neither), before the lock's release in the same MULTI.
   */
  putIn(multi: ChainableCommander, destination: string, notificationKey: string, entry: DeliveryLedger, ttlMs: number): void {
    multi
      .set(this.key(destination, notificationKey), JSON.stringify(entry), 'PX', ttlMs)
      .set(this.sentKey(destination, entry.lastNotificationId), '1', 'PX', ttlMs);
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    releaseLedgerLock(key: string, holder: string): Result<number, Context>;
    acquireLedgerLock(key: string, holder: string, ttlMs: string): Result<number, Context>;
  }
}
