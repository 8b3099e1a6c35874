import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '@klaxon/platform';
import { parserFor, type ReportContext } from '@klaxon/sources';
import { renderGateCheck } from './gate-check';
import { evaluateGate } from './gate-policy';

const semgrep = parserFor('sarif')!.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/sarif/semgrep-checkout.sarif.json'), 'utf8'), {
  eventId: 'gate',
  receivedAt: '2025-01-10T00:00:00.000Z',
  integration: 'gate',
  context: { repo: 'acme/checkout', commit: '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f' } as ReportContext,
}).findings;
const now = new Date('2025-01-10T00:00:00Z');
const policy = (gate: unknown) => configSchema.parse({ routes: {}, gate }).gate;

describe('renderGateCheck', () => {
  it('annotates the lines of failing and warning code findings, and lists every reason in the table', () => {
    const result = evaluateGate(semgrep, policy({ failOn: ['severity >= high'], warnOn: ['severity = medium'] }), [], [], now);
    const check = renderGateCheck(result, semgrep);

    expect(check.conclusion).toBe('failure');
    expect(check.title).toBe('FAIL: 1 of 3 findings fail the gate');
    expect(check.annotations).toEqual([
      expect.objectContaining({
        path: 'config/dev.env',
        start_line: 3,
        end_line: 3,
        annotation_level: 'failure',
        title: 'generic.secrets.security.detected-generic-secret.detected-generic-secret (high)',
      }),
      expect.objectContaining({ path: 'src/web/login.js', start_line: 41, end_line: 41, annotation_level: 'warning' }),
    ]);
    const rows = check.summary.split('\n').filter((l) => /^\| (FAIL|WARN|EXCEPTED) \|/.test(l));
    expect(rows).toHaveLength(result.reasons.length);
    expect(rows[0]).toMatch(/^\| FAIL \| high \| Semgrep Finding: generic\.secrets\..* at config\/dev\.env:3: Revoke the secret/);
  });

  it('succeeds when nothing fails, and escapes table syntax inside reasons', () => {
    const piped = semgrep.map((f) => ({ ...f, title: `${f.title} | a|b` }));
    const result = evaluateGate(piped, policy({ warnOn: ['severity >= low'] }), [], [], now);
    const check = renderGateCheck(result, piped);
    expect(check.conclusion).toBe('success');
    expect(check.title).toBe('pass: 3 findings, none failing, 3 warnings');
    // Each row keeps exactly three cells: a `|` from a tool's text does not open a fourth.
    for (const row of check.summary.split('\n').filter((l) => l.startsWith('| WARN'))) expect(row.split(/(?<!\\)\|/)).toHaveLength(5);
  });
});
