export * from './gateway.module';
export * from './http/fastify';
export * from './reports/intake.service';
export * from './http/api-error';
export * from './http/api-token.guard';
export * from './http/dashboards';
export * from './ui/web-ui';
