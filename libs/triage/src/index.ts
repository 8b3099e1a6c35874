export * from './finding.repository';
export * from './triage-batch/triage-batch.usecase';
export * from './exceptions';
