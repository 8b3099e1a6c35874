import { HttpException, HttpStatus } from '@nestjs/common';
import type { ZodError, ZodType, ZodTypeDef } from 'zod';
import { issuePath } from '@klaxon/findings';

/** The one error shape of the API: a code, a sentence, and the field at fault when there is one. */
export interface ApiErrorBody {
  error: string;
  message: string;
  field?: string;
  [extra: string]: unknown;
}

export class ApiError extends HttpException {
  constructor(status: HttpStatus, body: ApiErrorBody) {
    super(body, status);
  }

  static badRequest(field: string | undefined, message: string): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, { error: 'bad_request', message: field ? `${field}: ${message}` : message, field });
  }

  static notFound(what: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, { error: 'not_found', message: `${what} not found` });
  }
}

/** A request part that failed its schema: a 400 (or `status`) naming the field of the first issue. */
export function invalidRequest(error: ZodError, status = HttpStatus.BAD_REQUEST): ApiError {
  const issue = error.issues[0];
  const field = issuePath(issue.path) || undefined;
  const message = field ? `${field}: ${issue.message}` : issue.message;
  return new ApiError(status, { error: status === HttpStatus.UNPROCESSABLE_ENTITY ? 'unprocessable' : 'bad_request', message, field });
}

/** Validates a request part at the edge; a failure is a 400 (or `status`) naming the field. */
export function validate<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, status = HttpStatus.BAD_REQUEST): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidRequest(result.error, status);
}

/** Parses a JSON body given to us as text (the gateway keeps raw bodies: they are stored as received). */
export function jsonBody(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw.trim() === '') throw ApiError.badRequest('body', 'a JSON body is required');
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw ApiError.badRequest('body', `not valid JSON (${(err as Error).message})`);
  }
}
