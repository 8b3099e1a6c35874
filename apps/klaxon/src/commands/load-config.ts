import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile } from '@klaxon/destinations';
import { loadExceptionsFile } from '@klaxon/platform';

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KLAXON_CONFIG ?? 'config/klaxon.yaml');
}

/** The config and the exceptions file it names (absent file: no exceptions). */
export function loadAll(file: string) {
  const config = loadConfigFile(file);
  const exceptionsFile = config.exceptionsFile ? resolve(config.exceptionsFile) : undefined;
  const exceptions = exceptionsFile && existsSync(exceptionsFile) ? loadExceptionsFile(exceptionsFile) : [];
  return { config, exceptions };
}
