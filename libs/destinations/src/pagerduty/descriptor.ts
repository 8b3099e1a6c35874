import { defineDestination } from '../destination';
import { pagerdutyDestinationSchema, PAGERDUTY_DELIVERY_LIMITS } from './config';
import { PagerDutyDestination } from './pagerduty.destination';
import { pagerdutyShows } from './render';

export const pagerduty = defineDestination({
  type: 'pagerduty',
  configSchema: pagerdutyDestinationSchema,
  defaultLimits: PAGERDUTY_DELIVERY_LIMITS,
  shows: pagerdutyShows,
  create: (config) => new PagerDutyDestination(config),
});
