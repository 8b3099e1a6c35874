import type { DestinationConfig } from '@klaxon/platform';
import type { Destination } from './destination';
import { SlackDestination } from './slack/slack.destination';

/**
 * Destination type → constructor. The only place that lists them: adding a destination is a folder
 * plus one line here. Types not built yet are refused at start-up, not at delivery.
 */
const FACTORIES: { [T in DestinationConfig['type']]?: (config: Extract<DestinationConfig, { type: T }>) => Destination } = {
  slack: (config) => new SlackDestination(config),
};

export function createDestination(config: DestinationConfig): Destination {
  const factory = FACTORIES[config.type] as ((c: DestinationConfig) => Destination) | undefined;
  if (!factory) throw new Error(`destination type "${config.type}" is not supported yet`);
  return factory(config);
}

export function supportedDestinationTypes(): string[] {
  return Object.keys(FACTORIES);
}
