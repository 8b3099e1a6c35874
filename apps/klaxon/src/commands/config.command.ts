import { resolve } from 'node:path';
import { resolveCredentials } from '@klaxon/platform';
import type { Command } from './command';
import { configPath, loadAll } from './load-config';

export const configCommand: Command = {
  name: 'config',
  usage: ['config validate [file]    check a config file (default: $KLAXON_CONFIG or config/klaxon.yaml)'],
  run: async (args, out) => {
    if (args[0] !== 'validate') {
      out.error(`usage: klaxon ${configCommand.usage[0].trim()}`);
      return 2;
    }
    return validateConfig(args.slice(1), out);
  },
};

function validateConfig(args: string[], out: Console): number {
  const file = resolve(args[0] ?? configPath());
  const { config, exceptions } = loadAll(file);
  resolveCredentials(config.auth, process.env, undefined, file);
  out.log(
    `${file}: valid (${Object.keys(config.destinations).length} destinations, ${config.routes.routes.length} top-level routes, ${exceptions.length} exceptions)`,
  );
  return 0;
}
