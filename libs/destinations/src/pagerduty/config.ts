import { z } from 'zod';
import { endpointUrl, optionalText, requiredText } from '@klaxon/platform';
import type { DeliveryLimits } from '../destination';

export const pagerdutyDestinationSchema = z
  .object({
    type: z.literal('pagerduty'),
    routingKey: requiredText('routingKey'),
    eventsUrl: endpointUrl.refine((u) => u.startsWith('https://'), 'the PagerDuty client speaks only https').default('https://events.pagerduty.com/v2/enqueue'),
    /** PEM file of extra CAs trusted for eventsUrl: a self-hosted proxy with a private CA, or a test server. */
    caFile: optionalText,
  })
  .strict();

export type PagerDutyDestinationConfig = z.output<typeof pagerdutyDestinationSchema>;

/** Events API v2: 120 events per minute per routing key. */
export const PAGERDUTY_DELIVERY_LIMITS: DeliveryLimits = { rateLimit: { max: 120, per: 60_000 }, concurrency: 4 };
