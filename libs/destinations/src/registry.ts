import type { DestinationConfig } from '@klaxon/platform';
import type { Destination } from './destination';
import { GitHubDestination } from './github/github.destination';
import { JiraDestination } from './jira/jira.destination';
import { PagerDutyDestination } from './pagerduty/pagerduty.destination';
import { SlackDestination } from './slack/slack.destination';
import { WebhookDestination } from './webhook/webhook.destination';

/**
 * Destination type → constructor. The only place that lists them: adding a destination is a folder
 * plus one line here. Types not built yet are refused at start-up, not at delivery.
 */
const FACTORIES: { [T in DestinationConfig['type']]?: (config: Extract<DestinationConfig, { type: T }>) => Destination } = {
  slack: (config) => new SlackDestination(config),
  jira: (config) => new JiraDestination(config),
  pagerduty: (config) => new PagerDutyDestination(config),
  github: (config) => new GitHubDestination(config),
  webhook: (config) => new WebhookDestination(config),
};

export function createDestination(config: DestinationConfig): Destination {
  const factory = FACTORIES[config.type] as ((c: DestinationConfig) => Destination) | undefined;
  if (!factory) throw new Error(`destination type "${config.type}" is not supported yet`);
  return factory(config);
}

export function supportedDestinationTypes(): string[] {
  return Object.keys(FACTORIES);
}
