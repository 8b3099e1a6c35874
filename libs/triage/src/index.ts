export * from './finding.repository';
export * from './triage-batch/triage-batch.usecase';
export * from './exceptions';
export * from './release-exception/release-exception.usecase';
