import type { Redis } from 'ioredis';
import type { ApiCredential } from './auth/credentials';
import type { ExceptionConfig, KlaxonConfig } from './config/schema';
import { EventRepository } from './events/event.repository';
import { ParsedInputs } from './events/parsed-inputs';
import type { Logger } from './logging/logger';
import { Metrics } from './metrics/metrics';
import { QueueRegistry } from './queues/queue-registry';

/**
 * What every app of one process shares: the validated config, one Redis connection and key prefix,
 * the logger, the clock and the queues. Injected by class in Nest modules.
 */
export class Runtime {
  readonly queues: QueueRegistry;
  readonly events: EventRepository;
  readonly metrics: Metrics;
  /** What intake parsed, for this process's ingest worker (see ParsedInputs). */
  readonly parsedInputs = new ParsedInputs();

  constructor(
    readonly config: KlaxonConfig,
    readonly exceptions: ExceptionConfig[],
    readonly redis: Redis,
    /** Key prefix for everything Klaxon stores (tests use one per run). */
    readonly prefix: string,
    readonly logger: Logger,
    readonly clock: () => Date = () => new Date(),
    /** Bearer token for /v1 admin and query calls. */
    readonly apiToken: string = config.auth.apiToken ?? '',
    /** Every token the API takes, with its scope (the admin apiToken among them). */
    readonly credentials: ApiCredential[] = apiToken ? [{ name: 'KLAXON_API_TOKEN', scope: 'admin', repos: [], token: apiToken }] : [],
  ) {
    this.queues = new QueueRegistry(redis, prefix, logger, { jobs: config.jobs, retention: config.retention });
    this.events = new EventRepository(redis, prefix, config.retention);
    this.metrics = new Metrics(() => this.queues.allQueues());
  }
}
