import type { Redis } from 'ioredis';

/**
 * What the collector last sent of each object of a cluster, so that a full list can tell which objects
 * disappeared while no watch saw them go (a collector restart, a long outage). Keys are spelled here only:
 * `<prefix>:k8s:<cluster>:objects` (hash: `<kind>/<namespace>/<name>` → the object's JSON).
 */
export class KubernetesInventoryRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(cluster: string) {
    return `${this.prefix}:k8s:${cluster}:objects`;
  }

  async remember(cluster: string, objectKey: string, json: string): Promise<void> {
    await this.redis.hset(this.key(cluster), objectKey, json);
  }

  async forget(cluster: string, objectKey: string): Promise<void> {
    await this.redis.hdel(this.key(cluster), objectKey);
  }

  /** Objects of `kind` remembered for the cluster and not in `present`: gone while unwatched. */
  async missing(cluster: string, kind: string, present: Set<string>): Promise<{ key: string; json: string }[]> {
    const all = await this.redis.hgetall(this.key(cluster));
    return Object.entries(all)
      .filter(([key]) => key.startsWith(`${kind}/`) && !present.has(key))
      .map(([key, json]) => ({ key, json }));
  }
}
