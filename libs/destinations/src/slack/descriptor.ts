import { defineDestination } from '../destination';
import { slackDestinationSchema, SLACK_DELIVERY_LIMITS } from './config';
import { slackShows } from './render';
import { SlackDestination } from './slack.destination';

export const slack = defineDestination({
  type: 'slack',
  configSchema: slackDestinationSchema,
  defaultLimits: SLACK_DELIVERY_LIMITS,
  shows: slackShows,
  create: (config) => new SlackDestination(config),
});
