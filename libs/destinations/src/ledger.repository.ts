import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis, Result } from 'ioredis';
import type { DeliveryLedger } from './destination';

const RELEASE_LOCK_SCRIPT = readFileSync(resolve(__dirname, 'lua/release-ledger-lock.lua'), 'utf8');
const ACQUIRE_LOCK_SCRIPT = readFileSync(resolve(__dirname, 'lua/acquire-ledger-lock.lua'), 'utf8');

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

  async get(destination: string, notificationKey: string): Promise<DeliveryLedger | undefined> {
    const value = await this.redis.get(this.key(destination, notificationKey));
    return value ? (JSON.parse(value) as DeliveryLedger) : undefined;
  }

  private sentKey(destination: string, notificationId: string) {
    return `${this.prefix}:ledger-sent:${destination}:${notificationId}`;
  }

  /** Records a send: the key's entry and the notification id together, so a retried job sees either both or neither. */
  async put(destination: string, notificationKey: string, entry: DeliveryLedger, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.key(destination, notificationKey), JSON.stringify(entry), 'PX', ttlMs)
      .set(this.sentKey(destination, entry.lastNotificationId), '1', 'PX', ttlMs)
      .exec();
  }

  /** `wasSent` and `get` in one read: whether this notification was sent, and the key's entry. */
  async sentAndEntry(destination: string, notificationKey: string, notificationId: string): Promise<{ sent: boolean; entry?: DeliveryLedger }> {
    const [sent, entry] = await this.redis.mget(this.sentKey(destination, notificationId), this.key(destination, notificationKey));
    return { sent: sent !== null, entry: entry ? (JSON.parse(entry) as DeliveryLedger) : undefined };
  }

  /**
   * Whether this notification reached the destination already. Not only the last one under its key: a
   * job that crashed after its send and ledger write is retried after a later window was sent.
   */
  async wasSent(destination: string, notificationId: string): Promise<boolean> {
    return (await this.redis.exists(this.sentKey(destination, notificationId))) === 1;
  }

  /**
   * Holds `<prefix>:ledger-lock:<destination>:<key>` for one delivery, so two workers never send under
   * the same key at once (both would find no ledger and create twice). Returns the release, or
   * undefined when another delivery holds it. The holder is the notification id: the same notification
   * retried after its process died takes its own lock back at once instead of waiting out the TTL, which
   * only frees a lock whose notification is never retried.
   */
  async lock(destination: string, notificationKey: string, ttlMs: number, holder: string): Promise<(() => Promise<void>) | undefined> {
    const key = `${this.prefix}:ledger-lock:${destination}:${notificationKey}`;
    const token = holder;
    const acquired = await this.redis.acquireLedgerLock(key, token, String(ttlMs));
    if (acquired !== 1) return undefined;
    return async () => {
      await this.redis.releaseLedgerLock(key, token);
    };
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    releaseLedgerLock(key: string, token: string): Result<number, Context>;
    acquireLedgerLock(key: string, holder: string, ttlMs: string): Result<number, Context>;
  }
}
