import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatRouteTest, findingProbeSchema, probeFinding, testRoute } from '@klaxon/routing';
import { coveringException } from '@klaxon/triage';
import { parseOptions, type Command } from './command';
import { configPath, loadAll } from './load-config';

const USAGE = 'routes test --finding <file.json> [--config <file>] [--json]';

export const routesCommand: Command = {
  name: 'routes',
  usage: [USAGE, '                          where a finding would go and why: routes, destinations, exception (offline, nothing sent)'],
  run: async (args, out) => {
    const { positional, options } = parseOptions(args);
    if (positional[0] !== 'test' || typeof options.finding !== 'string') {
      out.error(`usage: klaxon ${USAGE}`);
      return 2;
    }
    const { config, exceptions } = loadAll(resolve(typeof options.config === 'string' ? options.config : configPath()));
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(resolve(options.finding), 'utf8'));
    } catch (err) {
      out.error(`${options.finding}: ${(err as Error).message}`);
      return 1;
    }
    const probe = findingProbeSchema.safeParse(json);
    if (!probe.success) {
      const issue = probe.error.issues[0];
      out.error(`${options.finding}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
      return 1;
    }
    const finding = probeFinding(probe.data);
    // Offline: the exceptions of the file only (API ones live in the running Klaxon's Redis).
    const result = testRoute(config.routes, finding, coveringException(exceptions, finding, new Date()));
    out.log(options.json ? JSON.stringify(result, null, 2) : formatRouteTest(result).join('\n'));
    return 0;
  },
};
