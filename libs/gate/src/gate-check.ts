import type { Finding } from '@klaxon/findings';
import { markdownCell, type CheckPublication } from '@klaxon/destinations';
import type { GateResult } from './gate-policy';

/** Rows in the summary table before "+N more": GitHub cuts a summary at 65,535 characters. */
const MAX_ROWS = 200;
const LABEL = { fail: 'FAIL', excepted: 'EXCEPTED', warn: 'WARN' } as const;

/**
 * The gate's verdict as a GitHub check run, pure: failure when the gate fails, success otherwise; the
 * summary is the reasons as a Markdown table; findings with a code location (SARIF) become annotations
 * on the lines that fail or warn.
 */
export function renderGateCheck(result: GateResult, findings: readonly Finding[]): Omit<CheckPublication, 'repo' | 'sha'> {
  const { summary } = result;
  const title = result.pass
    ? `pass: ${summary.total} findings, none failing${summary.excepted ? `, ${summary.excepted} excepted` : ''}${summary.warned ? `, ${summary.warned} warnings` : ''}`
    : `FAIL: ${summary.failed} of ${summary.total} findings fail the gate`;
  const rows = result.findings.slice(0, MAX_ROWS).map((f) => `| ${LABEL[f.verdict]} | ${f.severity} | ${markdownCell(f.reason)} |`);
  const lines = [`**Klaxon gate: ${title}**`];
  if (rows.length) {
    lines.push('', '| Verdict | Severity | Reason |', '|---|---|---|', ...rows);
    if (result.findings.length > rows.length) lines.push('', `_+${result.findings.length - rows.length} more_`);
  }
  if (result.exceptions.length) {
    lines.push(
      '',
      'Exceptions used:',
      ...result.exceptions.map(
        (e) => `- \`${e.id}\` (${markdownCell(e.owner)}, ${e.permanent ? 'permanent' : `expires ${e.expires}`}): ${markdownCell(e.reason)}`,
      ),
    );
  }

  const byFingerprint = new Map(findings.map((f) => [f.fingerprint, f]));
  const annotations = result.findings.flatMap((g) => {
    const code = byFingerprint.get(g.fingerprint)?.code;
    if (!code?.path || !code.line || g.verdict === 'excepted') return [];
    return [
      {
        path: code.path,
        start_line: code.line,
        end_line: code.line,
        annotation_level: g.verdict === 'fail' ? ('failure' as const) : ('warning' as const),
        title: `${g.rule} (${g.severity})`.slice(0, 255),
        message: g.reason.slice(0, 64_000),
      },
    ];
  });
  return { conclusion: result.pass ? 'success' : 'failure', title, summary: lines.join('\n'), annotations };
}
