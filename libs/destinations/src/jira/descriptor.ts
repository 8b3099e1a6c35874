import { defineDestination } from '../destination';
import { jiraDestinationSchema, JIRA_DELIVERY_LIMITS } from './config';
import { JiraDestination } from './jira.destination';

export const jira = defineDestination({
  type: 'jira',
  configSchema: jiraDestinationSchema,
  defaultLimits: JIRA_DELIVERY_LIMITS,
  create: (config) => new JiraDestination(config),
});
