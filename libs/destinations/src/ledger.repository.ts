import type { Redis } from 'ioredis';
import type { DeliveryLedger } from './destination';

/** What each destination created per notification key: `<prefix>:ledger:<destination>:<key>`. */
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

  async put(destination: string, notificationKey: string, entry: DeliveryLedger): Promise<void> {
    await this.redis.set(this.key(destination, notificationKey), JSON.stringify(entry));
  }
}
