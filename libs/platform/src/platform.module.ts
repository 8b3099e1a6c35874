import { Global, Module, type DynamicModule, type OnApplicationShutdown, type ValueProvider } from '@nestjs/common';
import { EventRepository } from './events/event.repository';
import { Metrics } from './metrics/metrics';
import { CONFIG, CONFIGURED_EXCEPTIONS, KEY_PREFIX, REDIS } from './platform.tokens';
import { QueueRegistry } from './queues/queue-registry';
import { Runtime } from './runtime';
import { StatsRepository } from './stats/stats.repository';

/**
 * What every app of one process shares, injectable everywhere: the Runtime (config, logger, clock,
 * queues), and its parts under their own tokens, so that library modules build their repositories
 * from REDIS and KEY_PREFIX. Closes the queues and workers on shutdown.
 */
@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(private readonly runtime: Runtime) {}

  static forRoot(runtime: Runtime): DynamicModule {
    const providers: ValueProvider[] = [
      { provide: Runtime, useValue: runtime },
      { provide: REDIS, useValue: runtime.redis },
      { provide: KEY_PREFIX, useValue: runtime.prefix },
      { provide: CONFIG, useValue: runtime.config },
      { provide: CONFIGURED_EXCEPTIONS, useValue: runtime.exceptions },
      { provide: QueueRegistry, useValue: runtime.queues },
      { provide: EventRepository, useValue: runtime.events },
      { provide: Metrics, useValue: runtime.metrics },
      { provide: StatsRepository, useValue: new StatsRepository(runtime.redis, runtime.prefix) },
    ];
    return { module: PlatformModule, providers, exports: providers.map((p) => p.provide) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.queues.close();
  }
}
