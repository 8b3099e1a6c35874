import { readFileSync } from 'node:fs';
import { ConfigError, formatPath } from '../config/load';
import type { KlaxonConfig } from '../config/schema';

export type ApiScope = 'admin' | 'ci';

/** A caller of the HTTP API, known by its token. */
export interface ApiCredential {
  name: string;
  scope: ApiScope;
  /** For `ci`: the repositories (owner/name) it may upload reports and run the gate for. */
  repos: string[];
  token: string;
}

/**
 * The tokens of `auth.tokens`, read from the environment or their files, plus `auth.apiToken`
 * (KLAXON_API_TOKEN) as an admin token. A token that cannot be read stops the start naming its path.
 */
export function resolveCredentials(
  auth: KlaxonConfig['auth'],
  env: NodeJS.ProcessEnv = process.env,
  read: (file: string) => string = (file) => readFileSync(file, 'utf8'),
  file = 'config',
): ApiCredential[] {
  const problems: string[] = [];
  const credentials: ApiCredential[] = auth.apiToken ? [{ name: 'KLAXON_API_TOKEN', scope: 'admin', repos: [], token: auth.apiToken }] : [];
  auth.tokens.forEach((t, i) => {
    let token: string | undefined;
    if (t.tokenEnv) {
      token = env[t.tokenEnv]?.trim();
      if (!token) problems.push(`${formatPath(['auth', 'tokens', i, 'tokenEnv'])}: environment variable ${t.tokenEnv} is not set`);
    } else if (t.tokenFile) {
      try {
        token = read(t.tokenFile).trim();
        if (!token) problems.push(`${formatPath(['auth', 'tokens', i, 'tokenFile'])}: ${t.tokenFile} is empty`);
      } catch (err) {
        problems.push(
          `${formatPath(['auth', 'tokens', i, 'tokenFile'])}: cannot read ${t.tokenFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
    }
    if (token) credentials.push({ name: t.name, scope: t.scope, repos: t.repos ?? [], token });
  });
  if (problems.length) throw new ConfigError(file, problems);
  return credentials;
}
