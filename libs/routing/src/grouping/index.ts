export * from './group';
export * from './group.repository';
