import { isSeverity, severityRank, SEVERITIES } from './severity';

export const MATCH_OPERATORS = ['=~', '!~', '!=', '>=', '<=', '=', '>', '<'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

export interface Matcher {
  field: string;
  op: MatchOperator;
  value: string;
  /** Compiled, anchored, for =~ and !~. */
  regex?: RegExp;
  /** The text it was parsed from, for explanations. */
  text: string;
}

/** Short names a matcher may use for a finding field (docs/architecture.md, "The Finding model": `rule` = `rule.id`). */
export const FIELD_ALIASES: Record<string, string> = {
  rule: 'rule.id',
  cve: 'rule.id',
  risk: 'risk.score',
  namespace: 'workload.namespace',
  cluster: 'workload.cluster',
  image: 'artifact.repository',
  digest: 'artifact.digest',
  repo: 'code.repo',
  package: 'package.name',
  tool: 'source.tool',
  integration: 'source.integration',
};

export class MatcherSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MatcherSyntaxError';
  }
}

const MATCHER_RE = /^\s*([A-Za-z_][\w.\-/]*)\s*(=~|!~|!=|>=|<=|=|>|<)\s*(.*?)\s*$/;

function unquote(value: string): string {
  if (value.length >= 2 && ((value[0] === '"' && value.endsWith('"')) || (value[0] === "'" && value.endsWith("'")))) {
    return value.slice(1, -1);
  }
  return value;
}

/** Parses `field op value` (Alertmanager-style; regexes are anchored). Throws MatcherSyntaxError. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER_RE.exec(text);
  if (!m) throw new MatcherSyntaxError(`"${text}" is not "field op value" with op one of ${MATCH_OPERATORS.join(' ')}`);
  const field = FIELD_ALIASES[m[1]] ?? m[1];
  const op = m[2] as MatchOperator;
  const value = unquote(m[3]);
  const matcher: Matcher = { field, op, value, text: text.trim() };
  if (op === '=~' || op === '!~') {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`);
    } catch (err) {
      throw new MatcherSyntaxError(`invalid regular expression "${value}": ${(err as Error).message}`);
    }
  }
  if (field === 'severity' && op !== '=~' && op !== '!~' && !isSeverity(value)) {
    throw new MatcherSyntaxError(`unknown level "${value}" (one of ${SEVERITIES.join(', ')})`);
  }
  if ((op === '>' || op === '>=' || op === '<' || op === '<=') && field !== 'severity' && Number.isNaN(Number(value))) {
    throw new MatcherSyntaxError(`"${op}" compares severities or numbers; "${value}" is neither`);
  }
  return matcher;
}

/** Reads a dotted path (`workload.namespace`) from a plain object. */
export function fieldValue(record: unknown, path: string): unknown {
  let current: unknown = record;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(asText).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function compare(a: number, op: MatchOperator, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/**
 * A missing field reads as the empty string (as in Alertmanager: `x = ""` matches an absent x),
 * and a missing risk reads as 0 so `risk >= 80` is false before scoring.
 */
export function matches(matcher: Matcher, record: unknown): boolean {
  const raw = fieldValue(record, matcher.field);
  switch (matcher.op) {
    case '=':
      return asText(raw) === matcher.value;
    case '!=':
      return asText(raw) !== matcher.value;
    case '=~':
      return matcher.regex!.test(asText(raw));
    case '!~':
      return !matcher.regex!.test(asText(raw));
    default: {
      if (matcher.field === 'severity') {
        const text = asText(raw);
        if (!isSeverity(text)) return false;
        return compare(severityRank(text), matcher.op, severityRank(matcher.value as never));
      }
      const n = raw === undefined || raw === null || raw === '' ? 0 : Number(raw);
      return !Number.isNaN(n) && compare(n, matcher.op, Number(matcher.value));
    }
  }
}

export function matchesAll(matchers: Matcher[], record: unknown): boolean {
  return matchers.every((m) => matches(m, record));
}
