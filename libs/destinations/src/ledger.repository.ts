import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Redis, Result } from 'ioredis';
import type { DeliveryLedger } from './destination';

const RELEASE_LOCK_SCRIPT = readFileSync(resolve(__dirname, 'lua/release-ledger-lock.lua'), 'utf8');

/** What each destination created per notification key: `<prefix>:ledger:<destination>:<key>`. */
export class LedgerRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!redis.releaseLedgerLock) redis.defineCommand('releaseLedgerLock', { numberOfKeys: 1, lua: RELEASE_LOCK_SCRIPT });
  }

  private key(destination: string, notificationKey: string) {
    return `${this.prefix}:ledger:${destination}:${notificationKey}`;
  }

  async get(destination: string, notificationKey: string): Promise<DeliveryLedger | undefined> {
    const value = await this.redis.get(this.key(destination, notificationKey));
    return value ? (JSON.parse(value) as DeliveryLedger) : undefined;
  }

  async put(destination: string, notificationKey: string, entry: DeliveryLedger): Promise<void> {
    await this.redis.set(this.key(destination, notificationKey), JSON.stringify(entry));
  }

  /**
   * Holds `<prefix>:ledger-lock:<destination>:<key>` for one delivery, so two workers never send under
   * the same key at once (both would find no ledger and create twice). Returns the release, or
   * undefined when another delivery holds it. The TTL frees a lock whose holder died.
   */
  async lock(destination: string, notificationKey: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const key = `${this.prefix}:ledger-lock:${destination}:${notificationKey}`;
    const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const acquired = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (acquired !== 'OK') return undefined;
    return async () => {
      await this.redis.releaseLedgerLock(key, token);
    };
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    releaseLedgerLock(key: string, token: string): Result<number, Context>;
  }
}
