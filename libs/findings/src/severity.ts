export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** Rank for ordered comparisons: info 0 … critical 4. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Most severe first, the order people read a report in. */
export function compareSeverityDesc(a: Severity, b: Severity): number {
  return severityRank(b) - severityRank(a);
}

const WORDS: Record<string, Severity> = {
  critical: 'critical',
  emergency: 'critical',
  alert: 'critical',
  high: 'high',
  error: 'high',
  important: 'high',
  medium: 'medium',
  moderate: 'medium',
  warning: 'medium',
  warn: 'medium',
  low: 'low',
  notice: 'low',
  minor: 'low',
  negligible: 'info',
  informational: 'info',
  info: 'info',
  debug: 'info',
  none: 'info',
  unknown: 'info',
};

/** Maps a tool's own severity word (Trivy, Falco priority, Grype, Harbor, …) onto Klaxon's scale. */
export function normalizeSeverity(word: string | undefined | null): Severity {
  if (!word) return 'info';
  return WORDS[word.trim().toLowerCase()] ?? 'info';
}
