export * from './source';
export * from './registry';
