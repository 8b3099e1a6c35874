import { z } from 'zod';
import { endpointUrl, requiredText } from '@klaxon/platform';
import type { DeliveryLimits } from '../destination';

export const slackDestinationSchema = z
  .object({
    type: z.literal('slack'),
    token: requiredText('token'),
    channel: requiredText('channel'),
    apiUrl: endpointUrl.default('https://slack.com/api/'),
  })
  .strict();

export type SlackDestinationConfig = z.output<typeof slackDestinationSchema>;

/** chat.postMessage: about one message per second per channel, short bursts tolerated. */
export const SLACK_DELIVERY_LIMITS: DeliveryLimits = { rateLimit: { max: 5, per: 5_000 }, concurrency: 2 };
