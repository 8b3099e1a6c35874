import pino, { type Logger } from 'pino';

/** Anything that can carry a secret is redacted wherever it sits in a log object. */
export const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'apiToken',
  'routingKey',
  'privateKey',
  'webhookAuth',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.apiToken',
  '*.routingKey',
  '*.privateKey',
  '*.webhookAuth',
  '*.authorization',
  '*.*.token',
  '*.*.password',
  '*.*.secret',
  '*.*.routingKey',
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-gitlab-token"]',
  'headers.authorization',
];

export type { Logger };

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'klaxon',
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination,
  );
}
