import { Injectable, type ArgumentMetadata } from '@nestjs/common';
import { createZodValidationPipe } from 'nestjs-zod';
import type { ZodError } from 'zod';
import { invalidRequest, jsonBody } from './api-error';

const ZodPipe = createZodValidationPipe({ createValidationException: (error) => invalidRequest(error as ZodError) });

/**
 * Validates every parameter typed with a zod DTO (`createZodDto`) against its schema, answering a
 * failure in the API's error shape. The gateway keeps bodies as text (reports and webhooks are stored
 * exactly as received), so a body typed with a DTO is read as JSON here first.
 */
@Injectable()
export class ApiValidationPipe extends ZodPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const typed = (metadata.metatype as { isZodDto?: boolean } | undefined)?.isZodDto;
    return super.transform(typed && metadata.type === 'body' ? jsonBody(value) : value, metadata);
  }
}
