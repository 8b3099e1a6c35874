export * from './source';
export * from './integration';
export * from './registry';
