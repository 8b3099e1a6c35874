import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { z } from 'zod';
import { QUEUE, QueueRegistry, createLogger, createRedis, deliverQueue, startEmbeddedRedis } from '@klaxon/platform';
import { parseInput } from '@klaxon/sources';
import { Meter, klaxonPosts, type Workload } from './versus';

export interface EngineFloor {
  jobsProcessed: number;
  timersArmed: number;
  /** CPU seconds of this process (BullMQ's client side) and of redis-server. */
  clientCpuSeconds: number;
  redisCpuSeconds: number;
  /** Bytes of one delivery job's payload. */
  deliverJobBytes: number;
}

const GROUP_SIZE = 10;

/**
 * What the queue engine alone costs for the hops one pass of the versus workload takes in Klaxon, with
 * nothing done in the jobs: a job per POST (`ingest`), each queuing its groups' windows in one addBulk
 * (`group`, 10 groups of 10 alerts a POST), each window queuing one notification (`deliver.<name>`,
 * carrying the records of its 10 findings as Klaxon's parser makes them) and arming its repeat timer (a
 * delayed job an hour away, left waiting). Queues and workers are Klaxon's own (`QueueRegistry`: its job
 * options, worker settings and concurrency 4), on a private redis-server reached through its unix socket.
 * The figure is a floor under Klaxon's CPU on that workload: Klaxon cannot spend less on these hops while
 * each is a BullMQ job.
 */
export async function runEngineFloor(w: Workload): Promise<EngineFloor> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-floor-'));
  const redisServer = await startEmbeddedRedis({ dir, appendOnly: false });
  const redis = createRedis(redisServer.socket ?? redisServer.url, 'floor');
  const probe = new IORedis(redisServer.url);
  const queues = new QueueRegistry(redis, 'klaxon', createLogger({ level: 'warn' }));
  try {
    const posts = klaxonPosts(w);
    const receivedAt = new Date().toISOString();
    // The records a notification carries: the findings Klaxon's own parser makes of the first POST.
    const findings = parseInput(posts[0], 'alertmanager', { eventId: 'evt_floor', receivedAt, integration: 'webhook:alertmanager', context: {} }).batch
      .findings;
    const groupsPerPost = Math.ceil(w.perPost / GROUP_SIZE);
    const windows = Math.ceil(w.alerts / GROUP_SIZE);
    const notification = (group: number) => ({
      notification: {
        id: `receiver:group-${group}:1:${receivedAt}`,
        key: `group-${group}`,
        destination: 'receiver',
        route: 'root',
        groupId: `group-${group}`,
        seq: 1,
        createdAt: receivedAt,
        groupLabels: { alertname: `KubeAlert${group % 20}`, instance: `node-${Math.floor(group / 20)}:9100` },
        changes: { new: findings.slice((group % groupsPerPost) * GROUP_SIZE, (group % groupsPerPost) * GROUP_SIZE + GROUP_SIZE), regressed: [], resolved: [] },
        counts: { open: GROUP_SIZE },
      },
    });
    let delivered = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const any = z.any();
    queues.work({
      queue: QUEUE.ingest,
      schema: any,
      handle: async (data: { post: number }) => {
        const first = data.post * groupsPerPost;
        await queues.addBulk(
          QUEUE.group,
          Array.from({ length: Math.min(groupsPerPost, windows - first) }, (_, k) => ({
            name: 'flush-group',
            data: { groupId: `group-${first + k}`, route: 'root', seq: 1 },
            opts: { jobId: `flush-group-${first + k}-1`, delay: 0 },
          })),
        );
      },
    });
    queues.work({
      queue: QUEUE.group,
      schema: any,
      handle: async (data: { groupId: string }) => {
        const group = Number(data.groupId.slice('group-'.length));
        await queues.add(deliverQueue('receiver'), 'deliver', notification(group), { jobId: `deliver-${group}-1` });
        await queues.add(QUEUE.group, 'flush-group', { groupId: data.groupId, route: 'root', seq: 2 }, { jobId: `flush-${data.groupId}-2`, delay: 3_600_000 });
      },
    });
    queues.work({
      queue: deliverQueue('receiver'),
      schema: any,
      handle: async () => {
        if (++delivered === windows) done();
      },
    });
    // Workers connect before the clock starts.
    await new Promise((r) => setTimeout(r, 1_000));
    const redisPid = Number(/^process_id:(\d+)/m.exec(await probe.info('server'))![1]);
    const meter = new Meter([
      { name: 'client', pid: process.pid },
      { name: 'redis-server', pid: redisPid },
    ]);
    meter.begin();
    let next = 0;
    // As the gateway queues them: four POSTs in flight.
    await Promise.all(
      Array.from({ length: w.inFlight }, async () => {
        while (next < posts.length) {
          const post = next++;
          await queues.add(QUEUE.ingest, 'ingest-event', { post }, { jobId: `evt_${post}` });
        }
      }),
    );
    await finished;
    const [client, server] = meter.end().processes;
    return {
      jobsProcessed: posts.length + 2 * windows,
      timersArmed: windows,
      clientCpuSeconds: client.cpuSeconds,
      redisCpuSeconds: server.cpuSeconds,
      deliverJobBytes: Buffer.byteLength(JSON.stringify(notification(0))),
    };
  } finally {
    await queues.close();
    await redis.quit();
    await probe.quit();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
