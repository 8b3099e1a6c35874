import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Runtime } from './runtime';

/** Makes the process's Runtime injectable everywhere; closes its queues and workers on shutdown. */
@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(private readonly runtime: Runtime) {}

  static forRoot(runtime: Runtime): DynamicModule {
    return { module: PlatformModule, providers: [{ provide: Runtime, useValue: runtime }], exports: [Runtime] };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.queues.close();
  }
}
