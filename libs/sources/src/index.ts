export * from './source';
export * from './integration';
export * from './registry';
export * from './identifiers';
export { MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-depth';
export { HARBOR_REPORT_FOLLOW_UP } from './harbor/parse';
