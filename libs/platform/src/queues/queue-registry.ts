import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ZodType, ZodTypeDef } from 'zod';
import type { JobsConfig, RetentionConfig } from '../config/schema';
import type { Logger } from '../logging/logger';
import { redactError } from '../logging/redact';
import { DeadLetterRepository } from './dead-letter.repository';

/**
 * Errors a job handler throws tell the runner what to do (docs/architecture.md, "Errors and retries"): `retryAfterMs`
 * delays the job without spending an attempt (429); `permanent` sends it straight to the dead letters;
 * anything else is retried with exponential backoff and jitter, then dead-lettered.
 */
export interface JobErrorTraits {
  retryAfterMs?: number;
  permanent?: boolean;
}

export function jobErrorTraits(err: unknown): JobErrorTraits {
  if (!err || typeof err !== 'object') return {};
  const e = err as { code?: string; retryAfterMs?: number };
  if (e.code === 'rate_limited' && typeof e.retryAfterMs === 'number') return { retryAfterMs: e.retryAfterMs };
  if (e.code === 'destination_rejected' || e.code === 'parse_error' || err instanceof UnrecoverableError) {
    return { permanent: true };
  }
  return {};
}

/** What a queue keeps and how it recovers from a dead worker: config `jobs` and `retention`. */
export interface QueuePolicy {
  jobs: Pick<JobsConfig, 'stalledAfter' | 'maxStalls'>;
  retention: Pick<RetentionConfig, 'completedJobs' | 'failedJobs' | 'maxJobsKept'>;
}

export const DEFAULT_QUEUE_POLICY: QueuePolicy = {
  jobs: { stalledAfter: 30_000, maxStalls: 10 },
  retention: { completedJobs: 86_400_000, failedJobs: 7 * 86_400_000, maxJobsKept: 50_000 },
};

/**
 * Each queue's event stream (BullMQ's `<queue>:events`, which only QueueEvents listeners read, and Klaxon
 * has none) is trimmed to about this many entries, not BullMQ's 10,000: redis-cli still shows the recent ones.
 */
export const EVENTS_KEPT = 1_000;

/**
 * Queues whose completed jobs need not stay for their ids: a delivery re-queued after it completed is a
 * no-op by its ledger's sent id, a group timer re-armed for a window already flushed finds it over. Their
 * jobs are removed as they complete (what each delivery did is on its event): keeping the latest in
 * BullMQ's completed set cost its completion script a trim and a delete per job, a third of its time in
 * Redis on Alertmanager's workload.
 */
const keptByOthers = (queue: string) => queue.startsWith('deliver.') || queue === 'group';

export function jobOptions({ retention }: QueuePolicy, queue = ''): JobsOptions {
  return {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
    // Completed jobs are kept (a day by default) so a re-enqueue with the same jobId within it is a no-op;
    // deliveries and group timers, whose repeats are no-ops anyway, go as they complete.
    removeOnComplete: keptByOthers(queue) ? true : { age: Math.ceil(retention.completedJobs / 1000), count: retention.maxJobsKept },
    removeOnFail: { age: Math.ceil(retention.failedJobs / 1000), count: retention.maxJobsKept },
  };
}

export interface WorkerSpec<T> {
  queue: string;
  schema: ZodType<T, ZodTypeDef, unknown>;
  handle: (data: T, job: Job) => Promise<unknown>;
  options?: Partial<Pick<WorkerOptions, 'concurrency' | 'limiter'>>;
}

/** BullMQ queues and workers of one process, on one Redis and one key prefix. */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  readonly deadLetters: DeadLetterRepository;
  /**
   * BullMQ's own connection, made on first use: BullMQ defines its 40-odd scripts on the connection it
   * is given, and ioredis copies every script of a connection into each pipeline made on it, so on the
   * shared connection Klaxon's pipelines paid for BullMQ's scripts too (1 s of CPU in 19 on the
   * Alertmanager workload).
   */
  private bullConnection?: Redis;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly policy: QueuePolicy = DEFAULT_QUEUE_POLICY,
  ) {
    this.deadLetters = new DeadLetterRepository(redis, prefix);
  }

  private get bullPrefix() {
    return `${this.prefix}:bull`;
  }

  private get connection(): Redis {
    this.bullConnection ??= this.redis.duplicate();
    return this.bullConnection;
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.connection,
        prefix: this.bullPrefix,
        defaultJobOptions: jobOptions(this.policy, name),
        streams: { events: { maxLen: EVENTS_KEPT } },
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async add(queueName: string, jobName: string, data: unknown, opts: JobsOptions = {}): Promise<void> {
    await this.queue(queueName).add(jobName, data, opts);
  }

  /** Many jobs of one queue in one round trip (BullMQ's addBulk: one pipeline); a job id already there adds nothing, as with `add`. */
  async addBulk(queueName: string, jobs: { name: string; data: unknown; opts?: JobsOptions }[]): Promise<void> {
    if (jobs.length) await this.queue(queueName).addBulk(jobs);
  }

  /** Starts a worker whose job payloads are validated at the edge and whose failures land in one place. */
  work<T>(spec: WorkerSpec<T>): Worker {
    const worker: Worker = new Worker(
      spec.queue,
      async (job: Job) => {
        const parsed = spec.schema.safeParse(job.data);
        if (!parsed.success) {
          throw new UnrecoverableError(`job payload invalid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
        }
        try {
          return await spec.handle(parsed.data, job);
        } catch (caught) {
          // What BullMQ stores as the failure, the log line and the dead letter all quote this text.
          const err = redactError(caught);
          const traits = jobErrorTraits(err);
          if (traits.retryAfterMs !== undefined) {
            // The whole queue waits: the destination said so for this token, not for this job.
            await worker.rateLimit(traits.retryAfterMs);
            throw Worker.RateLimitError();
          }
          if (traits.permanent) throw new UnrecoverableError(`${(err as Error).name}: ${(err as Error).message}`);
          throw err;
        }
      },
      {
        connection: this.connection,
        prefix: this.bullPrefix,
        concurrency: spec.options?.concurrency ?? 4,
        limiter: spec.options?.limiter,
        // A killed process leaves its jobs locked: once the lock lapses another worker (or this one
        // restarted) takes them up again. Every stage is idempotent, so a job run twice does no harm;
        // one that keeps killing its worker is dead-lettered after maxStalls.
        lockDuration: this.policy.jobs.stalledAfter,
        stalledInterval: this.policy.jobs.stalledAfter,
        maxStalledCount: this.policy.jobs.maxStalls,
        autorun: true,
      },
    );
    worker.on('failed', (job, err) => {
      if (!job) return;
      const exhausted = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      this.logger.warn(
        { queue: spec.queue, jobId: job.id, attempt: job.attemptsMade, err: err.message },
        exhausted ? 'job dead-lettered' : 'job failed, will retry',
      );
      if (!exhausted) return;
      void this.deadLetters
        .add({
          id: `${spec.queue}-${job.id}`,
          queue: spec.queue,
          jobName: job.name,
          data: job.data,
          error: { name: err.name, message: err.message },
          attempts: job.attemptsMade,
          failedAt: new Date().toISOString(),
        })
        .catch((e: Error) => this.logger.error({ err: e.message }, 'cannot record dead letter'));
    });
    worker.on('error', (err) => this.logger.error({ queue: spec.queue, err: err.message }, 'worker error'));
    this.workers.push(worker);
    return worker;
  }

  /** Replays a dead letter into its queue under a fresh job id; two concurrent replays queue it once. */
  async replayDeadLetter(id: string): Promise<boolean> {
    const letter = await this.deadLetters.take(id);
    if (!letter) return false;
    try {
      await this.add(letter.queue, letter.jobName, letter.data, { jobId: `${letter.id}-replay-${Date.now()}` });
    } catch (err) {
      await this.deadLetters.add(letter);
      throw err;
    }
    return true;
  }

  /** Lets running jobs finish, then closes queues and BullMQ's connection. The Redis connection it was given belongs to the caller. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.bullConnection?.quit().catch(() => this.bullConnection?.disconnect());
  }

  allQueues(): Queue[] {
    return [...this.queues.values()];
  }
}
