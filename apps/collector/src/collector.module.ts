import { Module } from '@nestjs/common';
import { HarborReportProcessor } from './harbor/harbor-report.processor';
import { KubernetesCollector } from './kubernetes/kubernetes.collector';

/**
 * Pulls from the Kubernetes API and registry APIs. Its informers and pollers arrive with the sources
 * that need them; until then the collector process starts and idles.
 */
@Module({ providers: [HarborReportProcessor, KubernetesCollector] })
export class CollectorModule {}
