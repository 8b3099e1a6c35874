import { z } from 'zod';
import { endpointUrl, optionalText } from '@klaxon/platform';
import type { DeliveryLimits } from '../destination';

export const webhookDestinationSchema = z
  .object({
    type: z.literal('webhook'),
    url: endpointUrl,
    secret: optionalText,
    headers: z.record(z.string()).optional(),
  })
  .strict();

export type WebhookDestinationConfig = z.output<typeof webhookDestinationSchema>;

/** A receiver of Klaxon's own: bounded by concurrency only; it answers 429 (honoured) or is given a `rateLimit` if it needs less. */
export const WEBHOOK_DELIVERY_LIMITS: DeliveryLimits = { concurrency: 4 };
