import type { Redis } from 'ioredis';
import type { DeliveryLedger } from './destination';

/**
 * What each destination created per notification key: `<prefix>:ledger:<destination>:<key>`, and which
 * notifications it was sent: `<prefix>:ledger-sent:<destination>:<notification id>`. Both expire after
 * `ttlMs` (retention.ledgers) without a send; every send refreshes its key's entry.
 */
export class LedgerRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

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
    const acquired = await this.redis.eval(ACQUIRE_SCRIPT, 1, key, token, String(ttlMs));
    if (acquired !== 1) return undefined;
    return async () => {
      // Only the holder releases: after a TTL expiry the lock may already be someone else's.
      await this.redis.eval(RELEASE_SCRIPT, 1, key, token);
    };
  }
}

const ACQUIRE_SCRIPT = `if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') or redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
