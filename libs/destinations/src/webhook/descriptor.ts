import { defineDestination } from '../destination';
import { webhookDestinationSchema, WEBHOOK_DELIVERY_LIMITS } from './config';
import { WebhookDestination } from './webhook.destination';

export const webhook = defineDestination({
  type: 'webhook',
  configSchema: webhookDestinationSchema,
  defaultLimits: WEBHOOK_DELIVERY_LIMITS,
  create: (config) => new WebhookDestination(config),
});
