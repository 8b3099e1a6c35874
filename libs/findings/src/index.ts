export * from './model';
export * from './workload';
export * from './behaviour';
export * from './severity';
export * from './fingerprint';
export * from './matcher';
export * from './schema-path';
export * from './finding-json';
