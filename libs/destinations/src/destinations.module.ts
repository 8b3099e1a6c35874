import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, KEY_PREFIX, REDIS, type KlaxonConfig } from '@klaxon/platform';
import type { Destination } from './destination';
import { LedgerRepository } from './ledger.repository';
import { createDestination } from './registry';

/** The configured destinations by name (`ReadonlyMap<string, Destination>`), built once at start-up. */
export const DESTINATIONS = Symbol('klaxon:destinations');

const providers = [
  { provide: LedgerRepository, useFactory: (redis: Redis, prefix: string) => new LedgerRepository(redis, prefix), inject: [REDIS, KEY_PREFIX] },
  {
    provide: DESTINATIONS,
    // A type not built yet stops start-up here, not the first delivery.
    useFactory: (config: KlaxonConfig): ReadonlyMap<string, Destination> =>
      new Map(Object.entries(config.destinations).map(([name, c]) => [name, createDestination(c)])),
    inject: [CONFIG],
  },
];

/** The delivery ledger on the process's Redis, and the destinations of the config (PlatformModule provides both inputs). */
@Module({ providers, exports: [LedgerRepository, DESTINATIONS] })
export class DestinationsModule {}
