export * from './gate-policy';
export * from './gate-check';
export * from './gate.service';
export * from './gate.module';
