import { Module } from '@nestjs/common';

/**
 * Pulls from the Kubernetes API and registry APIs. Its informers and pollers arrive with the sources
 * that need them; until then the collector process starts and idles.
 */
@Module({})
export class CollectorModule {}
