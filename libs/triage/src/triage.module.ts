import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, CONFIGURED_EXCEPTIONS, KEY_PREFIX, REDIS, type ExceptionConfig, type KlaxonConfig } from '@klaxon/platform';
import { AssetRepository } from './assets/asset.repository';
import { ComplianceRepository } from './compliance/compliance.repository';
import { CorrelateFindings } from './correlate/correlate.usecase';
import { RankWorkloads } from './correlate/rank-workloads.usecase';
import { ExceptionRepository } from './exceptions/exception.repository';
import { ExceptionStore } from './exceptions/exception.store';
import { FindingRepository } from './finding.repository';
import { ReleaseException } from './release-exception/release-exception.usecase';
import { SuggestionRepository } from './suggestions/suggestion.repository';
import { TriageBatch } from './triage-batch/triage-batch.usecase';
import { ReportTimeRepository } from './triage-batch/report-time.repository';
import { routingSignature } from './correlate/correlate.usecase';

const repository = <T>(type: new (redis: Redis, prefix: string) => T) => ({
  provide: type,
  useFactory: (redis: Redis, prefix: string) => new type(redis, prefix),
  inject: [REDIS, KEY_PREFIX],
});

const providers = [
  repository(FindingRepository),
  repository(AssetRepository),
  repository(ExceptionRepository),
  repository(SuggestionRepository),
  repository(ComplianceRepository),
  repository(ReportTimeRepository),
  {
    provide: ExceptionStore,
    useFactory: (configured: ExceptionConfig[], exceptions: ExceptionRepository) => new ExceptionStore(configured, exceptions),
    inject: [CONFIGURED_EXCEPTIONS, ExceptionRepository],
  },
  {
    provide: TriageBatch,
    useFactory: (f: FindingRepository, e: ExceptionStore, r: ReportTimeRepository, config: KlaxonConfig) =>
      new TriageBatch(f, e, r, routingSignature(config.routes)),
    inject: [FindingRepository, ExceptionStore, ReportTimeRepository, CONFIG],
  },
  {
    provide: ReleaseException,
    useFactory: (f: FindingRepository, e: ExceptionStore) => new ReleaseException(f, e),
    inject: [FindingRepository, ExceptionStore],
  },
  {
    provide: CorrelateFindings,
    useFactory: (a: AssetRepository, f: FindingRepository, config: KlaxonConfig) => new CorrelateFindings(a, f, config),
    inject: [AssetRepository, FindingRepository, CONFIG],
  },
  { provide: RankWorkloads, useFactory: (a: AssetRepository, config: KlaxonConfig) => new RankWorkloads(a, config), inject: [AssetRepository, CONFIG] },
];

/**
 * Triage's repositories (findings, assets, exceptions, suggestions) on the process's Redis and key
 * prefix, and its use cases over them. Needs PlatformModule (global) for REDIS, KEY_PREFIX and CONFIG.
 */
@Module({ providers, exports: providers.map((p) => p.provide) })
export class TriageModule {}
