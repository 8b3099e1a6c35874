import { Module } from '@nestjs/common';
import { HarborReportProcessor } from './harbor/harbor-report.processor';

/**
 * Pulls from the Kubernetes API and registry APIs. Its informers and pollers arrive with the sources
 * that need them; until then the collector process starts and idles.
 */
@Module({ providers: [HarborReportProcessor] })
export class CollectorModule {}
