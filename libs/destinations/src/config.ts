import { loadConfigFile as loadWith, parseConfig as parseWith, type KlaxonConfig } from '@klaxon/platform';
import { DESTINATION_TYPES } from './registry';

/**
 * The config parsed with every registered destination type: each destination checked by its own
 * schema (errors name `destinations.<name>.<field>`), an unknown type refused with the supported ones,
 * and each destination's `rateLimit` defaulted by its type. What the apps and tests start from.
 */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, file = 'klaxon.yaml'): KlaxonConfig {
  return parseWith(text, env, file, DESTINATION_TYPES);
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): KlaxonConfig {
  return loadWith(file, env, DESTINATION_TYPES);
}
