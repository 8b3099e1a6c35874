import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { KEY_PREFIX, REDIS } from '@klaxon/platform';
import { SourcesModule } from '@klaxon/sources';
import { HarborReportProcessor } from './harbor/harbor-report.processor';
import { KubernetesInventoryRepository } from './kubernetes/inventory.repository';
import { KubernetesCollector } from './kubernetes/kubernetes.collector';

const inventory = {
  provide: KubernetesInventoryRepository,
  useFactory: (redis: Redis, prefix: string) => new KubernetesInventoryRepository(redis, prefix),
  inject: [REDIS, KEY_PREFIX],
};

/**
 * Pulls from the Kubernetes API and registry APIs. Its informers and pollers arrive with the sources
 * that need them; until then the collector process starts and idles.
 */
@Module({ imports: [SourcesModule], providers: [HarborReportProcessor, KubernetesCollector, inventory] })
export class CollectorModule {}
