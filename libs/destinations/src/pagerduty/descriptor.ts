import { defineDestination } from '../destination';
import { pagerdutyDestinationSchema, PAGERDUTY_DELIVERY_LIMITS } from './config';
import { PagerDutyDestination } from './pagerduty.destination';

export const pagerduty = defineDestination({
  type: 'pagerduty',
  configSchema: pagerdutyDestinationSchema,
  defaultLimits: PAGERDUTY_DELIVERY_LIMITS,
  create: (config) => new PagerDutyDestination(config),
});
