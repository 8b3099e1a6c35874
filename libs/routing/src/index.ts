export * from './notification';
export * from './route-tree';
export * from './build-notifications';
