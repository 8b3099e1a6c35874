export * from './destination';
export * from './ledger.repository';
export * from './registry';
export * from './slack';
