import pino, { type Logger } from 'pino';

/** Keys whose values are secrets, at any depth of a logged object (config sections, headers, errors). */
const SECRET_KEYS = new Set([
  'token',
  'password',
  'secret',
  'apitoken',
  'routingkey',
  'privatekey',
  'webhookauth',
  'authorization',
  'x-hub-signature-256',
  'x-gitlab-token',
  'cookie',
]);

const MAX_DEPTH = 8;

/** A copy of `value` with every secret-named key's value replaced; pino's own redact paths cannot reach any depth. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : redactSecrets(item, depth + 1)]),
  );
}

export type { Logger };

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'klaxon',
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
    },
    opts.destination,
  );
}
