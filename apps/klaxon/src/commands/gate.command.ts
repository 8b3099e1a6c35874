import { readFileSync } from 'node:fs';
import type { GateAnswer } from '@klaxon/gate';
import type { Command } from './command';
import { parseOptions } from './command';
import { ServerCallFailed, callServer, errorMessage } from './server-client';

const CONTEXT = ['repo', 'branch', 'pr', 'commit', 'image', 'digest', 'format'] as const;

const USAGE = [
  'gate --report <file> [--format trivy|grype|sarif] --server <url> --token <token>',
  '     [--repo owner/name] [--branch b] [--pr n] [--commit sha] [--image ref] [--json]',
  'gate --digest sha256:… --server <url> --token <token>   judge what Klaxon knows of an image',
  '                          exit 0: pass, 1: the gate fails, 2: usage or server error',
];

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.min(60, Math.max(...rows.map((r) => r[c].length))));
  const cell = (text: string, w: number) => (text.length > w ? `${text.slice(0, w - 1)}…` : text.padEnd(w));
  return rows.map((r) =>
    r
      .map((text, c) => cell(text, widths[c]))
      .join('  ')
      .trimEnd(),
  );
}

/** What a developer reads in the CI log: one row per finding that matters, then what to do. */
export function renderGate(answer: GateAnswer): string[] {
  const lines: string[] = [];
  const s = answer.summary;
  lines.push(`klaxon gate: ${answer.pass ? 'PASS' : 'FAIL'} (${s.total} findings: ${s.failed} failing, ${s.excepted} excepted, ${s.warned} warnings)`);
  if (answer.findings.length) {
    lines.push('');
    lines.push(
      ...table([
        ['VERDICT', 'SEVERITY', 'ID', 'PACKAGE / LOCATION', 'INSTALLED → FIXED', 'FIX'],
        ...answer.findings.map((f) => [
          f.verdict.toUpperCase(),
          f.severity,
          f.rule,
          f.package?.name ?? f.location ?? '',
          f.package ? `${f.package.installed ?? '?'} → ${f.package.fixed ?? 'no fix'}` : '',
          f.verdict === 'excepted' ? `excepted by ${f.exception!.id}` : (f.fix ?? ''),
        ]),
      ]),
    );
  }
  if (answer.exceptions.length) {
    lines.push('', 'Exceptions applied:');
    for (const e of answer.exceptions) {
      lines.push(
        `  ${e.id} (${e.owner}, ${e.permanent ? 'permanent' : `expires ${e.expires}`}): ${e.reason} — ${e.findings} finding${e.findings === 1 ? '' : 's'}`,
      );
    }
  }
  if (answer.check) {
    lines.push(
      '',
      answer.check.published
        ? `GitHub check run published (${answer.check.destination}).`
        : `GitHub check run not published (${answer.check.destination}): ${answer.check.error ?? 'unknown error'}`,
    );
  }
  const failing = answer.reasons.filter((r) => r.startsWith('FAIL '));
  if (failing.length) lines.push('', 'To pass:', ...failing.map((r) => `  - ${r.slice(5)}`));
  return lines;
}

async function gate(args: string[], out: Console): Promise<number> {
  const { positional, options } = parseOptions(args);
  const text = (name: string) => (typeof options[name] === 'string' ? (options[name] as string) : undefined);
  const server = text('server') ?? process.env.KLAXON_URL;
  const token = text('token') ?? process.env.KLAXON_API_TOKEN;
  const report = text('report');
  const usage = (problem: string) => {
    out.error(`klaxon gate: ${problem}\nusage: klaxon ${USAGE.join('\n       ')}`);
    return 2;
  };
  if (positional.length) return usage(`unexpected argument "${positional[0]}"`);
  if (!server) return usage('--server (or KLAXON_URL) is required');
  if (!token) return usage('--token (or KLAXON_API_TOKEN) is required');
  if (!report && !text('digest')) return usage('--report <file> or --digest <sha256:…> is required');
  let body: string | undefined;
  if (report) {
    try {
      body = readFileSync(report, 'utf8');
    } catch (err) {
      return usage(`cannot read ${report}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const query = Object.fromEntries(CONTEXT.map((field) => [field, text(field)]));
  let answer: GateAnswer;
  try {
    const { status, body: reply } = await callServer(server, token, '/v1/gate', { method: 'POST', body, query });
    if (status !== 200) throw new ServerCallFailed(errorMessage(status, reply));
    answer = reply as GateAnswer;
  } catch (err) {
    if (!(err instanceof ServerCallFailed)) throw err;
    out.error(`klaxon gate: ${err.message}`);
    return 2;
  }
  if (options.json) out.log(JSON.stringify(answer, null, 2));
  else out.log(renderGate(answer).join('\n'));
  return answer.pass ? 0 : 1;
}

export const gateCommand: Command = { name: 'gate', usage: USAGE, run: gate };
