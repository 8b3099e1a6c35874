import type { Severity } from '@klaxon/findings';

/**
 * SARIF result levels (§3.27.10: error, warning, note, none) as severities. GitHub code scanning names
 * a rule's severity by the same levels, so both read them here.
 */
export function severityOfLevel(level: string | null | undefined): Severity {
  switch (level) {
    case 'error':
      return 'high';
    case 'warning':
      return 'medium';
    case 'note':
      return 'low';
    default:
      return 'info';
  }
}
