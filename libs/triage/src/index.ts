export * from './finding.repository';
export * from './triage-batch/triage-batch.usecase';
export * from './exceptions';
export * from './release-exception/release-exception.usecase';
export * from './risk/risk';
export * from './assets/facts';
export * from './assets/asset.repository';
export * from './correlate/correlate.usecase';
