import type { ZodType, ZodTypeDef } from 'zod';
import { issuePath } from '@klaxon/findings';
import { ParseError } from '../source';

/** A JSON object (not null, not an array): what every format's top level and most of its parts are. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validates with zod; the first issue becomes a ParseError whose path starts at `prefix`. */
export function validateAt<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, prefix = ''): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const inner = issuePath(issue.path);
  const path = prefix && inner ? (inner.startsWith('[') ? `${prefix}${inner}` : `${prefix}.${inner}`) : prefix || inner;
  throw new ParseError(issue.message, path || undefined);
}
