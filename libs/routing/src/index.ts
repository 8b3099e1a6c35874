export * from './notification';
export * from './route-tree';
export * from './route-test';
export * from './grouping';
export * from './routing.module';
