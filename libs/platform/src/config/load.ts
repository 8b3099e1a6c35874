import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { ZodError, ZodType, ZodTypeDef } from 'zod';
import { issuePath } from '@klaxon/findings';
import { configSchemaFor, exceptionsFileSchema, type DestinationTypes, type ExceptionConfig, type KlaxonConfig } from './schema';

/** A config file that cannot be used. `problems` are `path: message` lines. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatPath(path: (string | number)[]): string {
  return issuePath(path) || '(root)';
}

function zodProblems(error: ZodError, unsetPaths: string[]): string[] {
  // A value left empty by an unset variable is already reported as such: say it once.
  const related = (path: string) => unsetPaths.some((p) => p.startsWith(path) || path.startsWith(p));
  return error.issues
    .filter((issue) => !related(formatPath(issue.path)))
    .map((issue) => {
      const message =
        issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
      return `${formatPath(issue.path)}: ${message}`;
    });
}

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of the parsed tree, so errors can name
 * the path of a missing variable. Secrets come only from the environment.
 */
export function interpolateEnv(node: unknown, env: NodeJS.ProcessEnv, path: (string | number)[], problems: string[], unset: string[] = []): unknown {
  if (typeof node === 'string') {
    return node.replace(ENV_RE, (_whole, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
      unset.push(formatPath(path));
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => interpolateEnv(item, env, [...path, i], problems, unset));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateEnv(value, env, [...path, key], problems, unset)]));
  }
  return node;
}

/** Only the first YAML error: the ones after it follow from it (one unclosed bracket yields hundreds). */
function parseYamlFile(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  const [first] = doc.errors;
  if (first) {
    const at = first.linePos?.[0];
    const message = first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(file, [`YAML${at ? ` ${at.line}:${at.col}` : ''}: ${message}`]);
  }
  return doc.toJS() ?? {};
}

function validate<T>(schema: ZodType<T, ZodTypeDef, unknown>, file: string, text: string, env: NodeJS.ProcessEnv): T {
  const problems: string[] = [];
  const unset: string[] = [];
  const tree = interpolateEnv(parseYamlFile(file, text), env, [], problems, unset);
  const result = schema.safeParse(tree);
  if (!result.success) problems.push(...zodProblems(result.error, unset));
  if (problems.length) throw new ConfigError(file, problems);
  return (result as { data: T }).data;
}

/**
 * `destinationTypes` checks the `destinations:` section (libs/destinations' `parseConfig` passes its
 * registry); without them a config naming a destination is refused.
 */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, file = 'klaxon.yaml', destinationTypes: DestinationTypes = {}): KlaxonConfig {
  return validate(configSchemaFor(destinationTypes), file, text, env);
}

export function parseExceptions(text: string, env: NodeJS.ProcessEnv = process.env, file = 'exceptions.yaml'): ExceptionConfig[] {
  return validate(exceptionsFileSchema, file, text, env).exceptions;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, destinationTypes: DestinationTypes = {}): KlaxonConfig {
  return parseConfig(readText(file), env, file, destinationTypes);
}

export function loadExceptionsFile(file: string, env: NodeJS.ProcessEnv = process.env): ExceptionConfig[] {
  return parseExceptions(readText(file), env, file);
}
