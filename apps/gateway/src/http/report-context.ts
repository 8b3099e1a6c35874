import { z } from 'zod';
import { validate } from './api-error';

const FIELDS = ['repo', 'commit', 'branch', 'pr', 'image', 'digest'] as const;

/** A name Klaxon keys state by: no control characters (a newline would address another key). */
const name = () => z.string().regex(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/, 'control characters are not allowed');

/** The build a CI upload belongs to; the parsers attach it to every finding of the report. */
export const reportContextSchema = z
  .object({
    repo: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')
      .optional(),
    commit: z
      .string()
      .regex(/^[0-9a-f]{7,64}$/i, 'expected a commit SHA')
      .optional(),
    branch: name().optional(),
    pr: z.coerce.number({ invalid_type_error: 'expected a pull request number' }).int().positive().optional(),
    image: name().optional(),
    digest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>')
      .optional(),
  })
  .strict();

/** Structurally `ReportContext` of libs/sources, as a plain object type the intake's record accepts. */
export type UploadContext = z.infer<typeof reportContextSchema>;

/** One upload parameter: `?field=` wins over the `X-Klaxon-<Field>` header; empty means absent. */
export function uploadParam(query: Record<string, string>, headers: Record<string, string>, field: string): string | undefined {
  const value = query[field] ?? headers[`x-klaxon-${field}`];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The context of `POST /v1/reports` and `POST /v1/gate`, from the query string or `X-Klaxon-*`
 * headers (CI systems that cannot build a query string set headers); a bad value is a 400 naming it.
 */
export function reportContextOf(query: Record<string, string>, headers: Record<string, string>): UploadContext {
  const given = Object.fromEntries(FIELDS.map((field) => [field, uploadParam(query, headers, field)]).filter(([, v]) => v !== undefined));
  return validate(reportContextSchema, given);
}
