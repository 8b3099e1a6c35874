import { ConfigError, RedisBinaryMissing } from '@klaxon/platform';
import type { Command } from './commands/command';
import { configCommand } from './commands/config.command';
import { gateCommand } from './commands/gate.command';
import { replayCommand } from './commands/replay.command';
import { routesCommand } from './commands/routes.command';
import { startCommand } from './commands/start.command';

/** The CLI's verbs: adding one is a file in commands/ plus one line here. */
const COMMANDS: Command[] = [startCommand, configCommand, routesCommand, gateCommand, replayCommand];

function usage(): string {
  return [
    'Usage: klaxon <command>',
    '',
    ...COMMANDS.flatMap((c) => c.usage.map((line) => `  ${line}`)),
    '  help                      this text',
    '',
    'Environment: PORT, REDIS_URL (unset: embedded redis-server), KLAXON_CONFIG, KLAXON_API_TOKEN, KLAXON_DATA_DIR (default .data).',
  ].join('\n');
}

/** Runs one CLI command; returns the exit code. Errors a user can fix are printed, not thrown. */
export async function main(argv: string[], out: Console = console): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    out.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    out.error(`klaxon: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RedisBinaryMissing) {
      out.error(err.message);
      return 1;
    }
    throw err;
  }
}
