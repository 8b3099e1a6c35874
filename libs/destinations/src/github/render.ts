import { createHash } from 'node:crypto';
import type { Finding } from '@klaxon/findings';
import { renderSuggestionsMarkdown } from '@klaxon/feedback';
import type { Notification } from '@klaxon/routing';
import { byUrgency, githubRepo, ruleUrl } from '../finding-facts';

/** GitHub refuses an issue comment body over 65,536 characters ("body is too long"). */
export const GITHUB_COMMENT_MAX = 65_536;
/** A check run's output.summary and output.text are limited to 65,535 characters each. */
export const CHECK_SUMMARY_MAX = 65_535;
/** Annotations per create/update request (the API takes 50 at a time). */
export const CHECK_ANNOTATIONS_MAX = 50;
export const CHECK_NAME = 'Klaxon';
/** Rows per table before "+N more"; halved until the comment fits. */
const INITIAL_ROWS = 200;

/** A pull request findings point at: `code.repo` (owner/name) and `code.pullRequest`. */
export interface PullRequestTarget {
  owner: string;
  repo: string;
  number: number;
  /** The head commit the findings were reported for, when the report said. */
  headSha?: string;
}

export function targetId(t: PullRequestTarget): string {
  return `${t.owner}/${t.repo}#${t.number}`;
}

/**
 * The hidden marker the sticky comment is found by. It names the notification key (hashed: keys hold
 * slashes, spaces, label values), so each group has its own comment on a pull request and a lost ledger
 * or a retried job updates it instead of posting another.
 */
export function commentMarker(notificationKey: string): string {
  return `<!-- klaxon:${createHash('sha256').update(notificationKey).digest('hex').slice(0, 20)} -->`;
}

/** The one Klaxon comment of a pull request: every group that reaches the PR keeps its section in it. */
export const PULL_REQUEST_MARKER = '<!-- klaxon:pull-request -->';

const SECTION = /<!-- klaxon-section:([0-9a-f]+) -->\n[\s\S]*?\n<!-- \/klaxon-section:\1 -->/g;

function sectionId(notificationKey: string): string {
  return commentMarker(notificationKey).slice('<!-- klaxon:'.length, -' -->'.length);
}

/** The sections of a PR comment by id (empty for a comment Klaxon did not write). */
export function commentSections(body: string | undefined): Map<string, string> {
  return new Map([...(body ?? '').matchAll(SECTION)].map((m) => [m[1], m[0]]));
}

/**
 * The PR comment with this group's section put in (or replaced), sections in a fixed order whatever
 * order the groups sent in; within GitHub's limit by rendering this section with fewer rows.
 */
export function spliceComment(body: string | undefined, n: Notification, target: PullRequestTarget, changes: Notification['changes']): string {
  const id = sectionId(n.key);
  const others = commentSections(body);
  others.delete(id);
  const frame = (text: string) => `<!-- klaxon-section:${id} -->\n${text}\n<!-- /klaxon-section:${id} -->`;
  const room = GITHUB_COMMENT_MAX - PULL_REQUEST_MARKER.length - [...others.values()].reduce((sum, t) => sum + t.length + 2, 0) - frame('').length - 2;
  const sections = new Map([...others, [id, frame(renderComment(n, target, changes, Math.max(room, 0)))]]);
  const ordered = [...sections].sort(([a], [b]) => a.localeCompare(b)).map(([, text]) => text);
  return [PULL_REQUEST_MARKER, ...ordered].join('\n\n').slice(0, GITHUB_COMMENT_MAX);
}

/** The pull requests a notification's findings were reported for, each with its findings. */
export function pullRequestsOf(n: Notification): Array<{ target: PullRequestTarget; changes: Notification['changes'] }> {
  const byPr = new Map<string, { target: PullRequestTarget; changes: Notification['changes'] }>();
  for (const change of ['new', 'regressed', 'open', 'resolved'] as const) {
    for (const f of n.changes[change]) {
      const repo = githubRepo(f);
      if (!repo || !f.code?.pullRequest) continue;
      const target: PullRequestTarget = { ...repo, number: f.code.pullRequest, headSha: f.code.commit };
      const id = targetId(target);
      let entry = byPr.get(id);
      if (!entry) byPr.set(id, (entry = { target, changes: { new: [], regressed: [], open: [], resolved: [] } }));
      // The newest commit wins: findings still open carry the commit they were last seen at.
      if (f.code.commit && change !== 'resolved') entry.target.headSha = f.code.commit;
      entry.changes[change].push(f);
    }
  }
  return [...byPr.values()].sort((a, b) => (targetId(a.target) < targetId(b.target) ? -1 : 1));
}

/**
 * The sticky comment: new fixable findings first with the version that fixes them, then the rest of
 * the fixable ones, then those without a fix, then what was resolved since the last push, each in a
 * collapsible section; within GitHub's 65,536 characters by listing fewer rows and saying how many more.
 */
export function renderComment(n: Notification, target: PullRequestTarget, changes: Notification['changes'], max = GITHUB_COMMENT_MAX): string {
  for (let rows = INITIAL_ROWS; ; rows = Math.floor(rows / 2)) {
    const body = renderWith(n, target, changes, rows);
    if (body.length <= max || rows === 0) return body.slice(0, max);
  }
}

function renderWith(n: Notification, target: PullRequestTarget, changes: Notification['changes'], rows: number): string {
  const fresh = new Set([...changes.new, ...changes.regressed].map((f) => f.fingerprint));
  const regressed = new Set(changes.regressed.map((f) => f.fingerprint));
  // Hardening suggestions from runtime (kind `suggestion`) get their own section, with their policy YAML.
  const suggestions = [...changes.new, ...changes.regressed, ...changes.open].filter((f) => f.kind === 'suggestion');
  const open = [...changes.new, ...changes.regressed, ...changes.open].filter((f) => f.kind !== 'suggestion');
  const newFirst = (a: Finding, b: Finding) => Number(fresh.has(b.fingerprint)) - Number(fresh.has(a.fingerprint)) || byUrgency(a, b);
  const fixable = open.filter((f) => f.package?.fixed).sort(newFirst);
  const unfixable = open.filter((f) => !f.package?.fixed).sort(newFirst);
  const resolved = [...changes.resolved].sort(byUrgency);
  const mark = (f: Finding) => (regressed.has(f.fingerprint) ? '🔁' : fresh.has(f.fingerprint) ? '🆕' : '');

  const commit = target.headSha ? ` at ${target.headSha.slice(0, 7)}` : '';
  const title =
    open.length === 0 && suggestions.length
      ? `### 🛡️ Klaxon: ${suggestions.length} hardening proposal${suggestions.length === 1 ? '' : 's'} from runtime`
      : open.length === 0
        ? `### ✅ Klaxon: no open findings${commit}`
        : `### 🛡️ Klaxon: ${open.length} open finding${open.length === 1 ? '' : 's'}${commit}`;
  const tally = [
    changes.new.length && `${changes.new.length} new`,
    changes.regressed.length && `${changes.regressed.length} regressed`,
    fixable.length && `${fixable.length} fixable`,
    resolved.length && `${resolved.length} resolved since last push`,
  ].filter(Boolean);

  const parts = [commentMarker(n.key), title, tally.length ? `> ${tally.join(' · ')}` : ''];
  if (fixable.length) {
    parts.push(
      section(
        `Fixable (${fixable.length}): upgrade to the version shown`,
        true,
        ['', 'Severity', 'Finding', 'Package', 'Installed', 'Fixed in'],
        fixable,
        rows,
        (f) => [mark(f), f.severity, findingCell(f), cell(f.package?.name ?? ''), code(f.package?.installed), code(f.package?.fixed)],
      ),
    );
  }
  if (unfixable.length) {
    parts.push(
      section(`No fix available yet (${unfixable.length})`, fixable.length === 0, ['', 'Severity', 'Finding', 'Where'], unfixable, rows, (f) => [
        mark(f),
        f.severity,
        findingCell(f),
        cell(where(f)),
      ]),
    );
  }
  if (suggestions.length) parts.push(renderSuggestionsMarkdown(suggestions));
  if (resolved.length) {
    parts.push(
      section(`Resolved since last push (${resolved.length})`, false, ['Severity', 'Finding', 'Where'], resolved, rows, (f) => [
        f.severity,
        findingCell(f),
        cell(where(f)),
      ]),
    );
  }
  parts.push(`<sub>Updated by Klaxon at ${n.createdAt} · route ${cell(n.route)}. This comment is edited in place on every push.</sub>`);
  return parts.filter(Boolean).join('\n\n');
}

function section(summary: string, open: boolean, head: string[], findings: Finding[], rows: number, row: (f: Finding) => string[]): string {
  const shown = findings.slice(0, rows);
  const lines = [
    `<details${open ? ' open' : ''}><summary><b>${summary}</b></summary>`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...shown.map((f) => `| ${row(f).join(' | ')} |`),
  ];
  if (findings.length > shown.length) lines.push('', `_+${findings.length - shown.length} more_`);
  lines.push('', '</details>');
  return lines.join('\n');
}

function findingCell(f: Finding): string {
  const url = ruleUrl(f);
  const id = cell(f.rule.id);
  // A title that starts with the rule id ("CVE-2024-5535 in openssl — …") continues after the link.
  const rest = f.title.startsWith(f.rule.id) ? f.title.slice(f.rule.id.length).trim() : f.title;
  const title = rest ? ` ${cell(rest.length > 120 ? `${rest.slice(0, 119)}…` : rest)}` : '';
  return `${url ? `[${id}](${url})` : id}${title}`;
}

function where(f: Finding): string {
  if (f.code?.path) return `${f.code.path}${f.code.line ? `:${f.code.line}` : ''}`;
  if (f.package) return f.package.path ?? f.package.name;
  return f.artifact?.repository ?? '';
}

function code(value: string | undefined): string {
  return value ? `\`${value.replace(/[`|\n\r]/g, ' ').slice(0, 60)}\`` : '';
}

/**
 * Tool text inside a Markdown table cell: HTML and Markdown punctuation are escaped, `|` would end the
 * cell, and `@name` would notify someone, so a zero-width space follows every `@`.
 */
export function cell(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#!~])/g, '\\$1')
    .replace(/@/g, '@&#8203;');
}

export interface CheckRunOutput {
  conclusion: 'success' | 'neutral';
  output: {
    title: string;
    summary: string;
    annotations: Array<{
      path: string;
      start_line: number;
      end_line: number;
      annotation_level: 'failure' | 'warning' | 'notice';
      title: string;
      message: string;
    }>;
  };
}

/**
 * A check run on the head commit: code findings with a location (SARIF results) become annotations.
 * The conclusion stays neutral while anything is open: passing or failing a build is the gate's call.
 */
export function renderCheckRun(changes: Notification['changes']): CheckRunOutput {
  const open = [...changes.new, ...changes.regressed, ...changes.open].sort(byUrgency);
  const located = open.filter((f) => f.code?.path && f.code.line);
  const annotations = located.slice(0, CHECK_ANNOTATIONS_MAX).map((f) => ({
    path: f.code!.path!,
    start_line: f.code!.line!,
    end_line: f.code!.line!,
    annotation_level:
      f.severity === 'critical' || f.severity === 'high' ? ('failure' as const) : f.severity === 'medium' ? ('warning' as const) : ('notice' as const),
    title: `${f.rule.id} (${f.severity})`.slice(0, 255),
    message: (f.remediation ? `${f.title}\n\n${f.remediation}` : f.title).slice(0, 64_000),
  }));
  const summary = [
    open.length ? `${open.length} open finding${open.length === 1 ? '' : 's'}: ${counts(open)}.` : 'No open findings.',
    changes.resolved.length ? `${changes.resolved.length} resolved since the last push.` : '',
    located.length > annotations.length ? `${located.length - annotations.length} more code locations are not annotated.` : '',
  ]
    .filter(Boolean)
    .join('\n');
  return {
    conclusion: open.length ? 'neutral' : 'success',
    output: { title: open.length ? `${open.length} open findings` : 'No open findings', summary: summary.slice(0, CHECK_SUMMARY_MAX), annotations },
  };
}

function counts(findings: Finding[]): string {
  const by = new Map<string, number>();
  for (const f of findings) by.set(f.severity, (by.get(f.severity) ?? 0) + 1);
  return [...by].map(([s, c]) => `${c} ${s}`).join(', ');
}
