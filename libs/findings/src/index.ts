export * from './model';
export * from './severity';
export * from './fingerprint';
export * from './matcher';
export * from './schema-path';
