export * from './source';
export * from './integration';
export * from './registry';
export { HARBOR_REPORT_FOLLOW_UP } from './harbor/parse';
export * from './sources.module';
