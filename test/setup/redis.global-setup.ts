import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../libs/platform/src/redis/embedded-redis';

let redis: EmbeddedRedis | undefined;
let dir: string | undefined;

/**
 * A private redis-server for the whole run, on a free port with a temp dir: tests never touch the
 * Redis a developer runs on 6379. Test workers inherit KLAXON_TEST_REDIS_URL; each test uses its own
 * key prefix (test/support/redis.ts).
 */
export async function setup() {
  dir = mkdtempSync(join(tmpdir(), 'klaxon-test-redis-'));
  redis = await startEmbeddedRedis({ dir, appendOnly: false });
  process.env.KLAXON_TEST_REDIS_URL = redis.url;
}

export async function teardown() {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
