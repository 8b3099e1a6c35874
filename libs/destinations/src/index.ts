export * from './destination';
export * from './ledger.repository';
export * from './registry';
export * from './slack';
export * from './jira';
export * from './pagerduty';
export * from './github';
export * from './webhook';
