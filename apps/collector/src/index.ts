export * from './collector.module';
