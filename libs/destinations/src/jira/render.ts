import { createHash } from 'node:crypto';
import type { Finding, Severity } from '@klaxon/findings';
import { stillOpen, type Notification } from '@klaxon/routing';
import {
  codeText,
  cut,
  findingName,
  groupLabelText,
  imageText,
  openCount,
  openFindings,
  packageText,
  pullRequestUrl,
  remediationText,
  ruleUrl,
  workloadText,
  worstOpenSeverity,
} from '../finding-facts';

/** Jira rejects a summary over 255 characters ("Summary must be less than 255 characters"). */
export const JIRA_SUMMARY_MAX = 255;
/** A description or comment is a text field: 32,767 characters on Jira Cloud. */
export const JIRA_TEXT_MAX = 32_767;
/** Findings listed in a group ticket before "+N more". */
const MAX_LISTED = 50;

export const DEFAULT_PRIORITIES: Record<Severity, string> = {
  critical: 'Highest',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Lowest',
};

/**
 * The stable label a ticket is found by (JQL `labels = "klaxon-…"`), whatever the ledger remembers:
 * the finding's fingerprint prefix, or for a group ticket a hash of the notification key. Labels
 * cannot contain spaces, so both are hex.
 */
export function findingLabel(f: Finding): string {
  return `klaxon-${f.fingerprint.slice(0, 16)}`;
}

export function groupLabel(notificationKey: string): string {
  return `klaxon-g${createHash('sha256').update(notificationKey).digest('hex').slice(0, 16)}`;
}

/** A description as lines and links; serialized to wiki markup (v2) or Atlassian Document Format (v3). */
export type Doc = Block[];
export type Block = { heading: string } | { line: Array<string | { text: string; href: string }> } | { rule: true };

export interface TicketFields {
  summary: string;
  description: Doc;
  priority: string;
  labels: string[];
}

/** Jira refuses a summary with a line break ("The summary is invalid because it contains newline characters"). */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** The ticket of one finding: what it is, where, how bad, and what to do. */
export function findingTicket(f: Finding, priorities: Record<Severity, string>): TicketFields {
  const where = f.artifact?.repository ?? (f.workload?.name ? `${f.workload.namespace}/${f.workload.name}` : f.code?.repo);
  // Parsers often name the rule in the title already ("CVE-2024-5535 in openssl — …"): not twice. A
  // hardening proposal's rule id only says which tier it is; its title says what it is.
  const what = f.kind === 'suggestion' || f.title.includes(f.rule.id) ? f.title : `${findingName(f)}${f.title ? `: ${f.title}` : ''}`;
  const summary = cut(oneLine(`[${f.severity}] ${what}${where ? ` (${where})` : ''}`), JIRA_SUMMARY_MAX);
  return {
    summary,
    description: findingDoc(f),
    priority: priorities[f.severity],
    labels: ['klaxon', findingLabel(f), `klaxon-${f.kind}`],
  };
}

/** The ticket of a whole group: the most severe finding sets the priority. */
export function groupTicket(n: Notification, priorities: Record<Severity, string>): TicketFields {
  const open = openFindings(n);
  const count = openCount(n);
  const name = groupLabelText(n) || `route ${n.route}`;
  const severity = worstOpenSeverity(n);
  // Findings told earlier come as counts (the records of what changed only): they are in the ticket already.
  const earlier = count - open.length;
  return {
    summary: cut(oneLine(`[${severity}] ${count} finding${count === 1 ? '' : 's'} in ${name}`), JIRA_SUMMARY_MAX),
    description: [
      { line: [`Findings routed by Klaxon route ${n.route} for ${name}.`] },
      ...listDoc('Open findings', open),
      ...(earlier > 0 ? [{ line: [`${earlier} more open finding(s) told earlier.`] }] : []),
    ],
    priority: priorities[severity],
    labels: ['klaxon', groupLabel(n.key)],
  };
}

export function findingDoc(f: Finding): Doc {
  const doc: Doc = [{ heading: `${f.rule.id}${f.title && f.title !== f.rule.id ? `: ${f.title}` : ''}` }];
  const fact = (label: string, value: string | undefined, href?: string) => {
    if (value) doc.push({ line: [`${label}: `, href ? { text: value, href } : value] });
  };
  fact('Severity', `${f.severity}${f.toolSeverity ? ` (${f.toolSeverity})` : ''}`);
  fact('Rule', f.rule.id, ruleUrl(f));
  fact('Kind', f.kind);
  fact('Package', packageText(f));
  fact('Image', imageText(f));
  fact('Workload', workloadText(f));
  fact('Code', codeText(f), pullRequestUrl(f));
  if (f.risk) fact('Risk', `${f.risk.score}${f.risk.reasons.length ? ` (${f.risk.reasons.join('; ')})` : ''}`);
  fact('Fingerprint', f.fingerprint);
  if (f.description) doc.push({ rule: true }, { line: [cut(f.description, 4_000)] });
  const remediation = remediationText(f);
  if (remediation) doc.push({ heading: 'Remediation' }, { line: [remediation] });
  return doc;
}

function listDoc(title: string, findings: Finding[]): Doc {
  if (!findings.length) return [];
  const doc: Doc = [{ heading: `${title} (${findings.length})` }];
  for (const f of findings.slice(0, MAX_LISTED)) {
    const url = ruleUrl(f);
    const pkg = packageText(f);
    doc.push({ line: [`${f.severity} `, url ? { text: f.rule.id, href: url } : f.rule.id, pkg ? ` ${pkg}` : '', f.title ? ` ${cut(f.title, 150)}` : ''] });
  }
  if (findings.length > MAX_LISTED) doc.push({ line: [`+${findings.length - MAX_LISTED} more`] });
  return doc;
}

/** What a later notification changed in a group ticket's findings. */
export function changesDoc(n: Notification): Doc {
  return [...listDoc('New', n.changes.new), ...listDoc('Regressed', n.changes.regressed), ...listDoc('Resolved', n.changes.resolved)];
}

export const comments = {
  seenAgain: (f: Finding, at: string): Doc => [{ line: [`Klaxon saw this again at ${at}${where(f)}.`] }],
  stillOpen: (n: Notification): Doc => [{ line: [`Klaxon: ${stillOpen(n).count} finding(s) still open at ${n.createdAt}.`] }],
  resolved: (at: string, what = 'this finding'): Doc => [{ line: [`Klaxon: ${what} is no longer reported (resolved at ${at}). Closing.`] }],
  regressed: (at: string, f?: Finding): Doc => [{ line: [`Klaxon: reported again at ${at}${f ? where(f) : ''}. Reopening.`] }],
};

function where(f: Finding): string {
  const place = imageText(f) ?? workloadText(f) ?? codeText(f);
  return place ? ` in ${place}` : '';
}

/**
 * Jira wiki markup: `[`, `]`, `{`, `}`, `|`, `!`, `*`, `_`, `^`, `~`, `+`, `#` and `-` start links,
 * macros, tables, images and text effects, so tool text is escaped with a backslash and cannot
 * render a link or a macro (https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa).
 */
export function escapeWiki(text: string): string {
  return text.replace(/[\\[\]{}|!*_^~+#-]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

export function toWiki(doc: Doc): string {
  const out = doc
    .map((block) => {
      if ('heading' in block) return `h3. ${escapeWiki(block.heading)}`;
      if ('rule' in block) return '----';
      return block.line.map((part) => (typeof part === 'string' ? escapeWiki(part) : `[${escapeWiki(part.text)}|${part.href}]`)).join('');
    })
    .join('\n');
  return cut(out, JIRA_TEXT_MAX);
}

/** Atlassian Document Format for API v3: text nodes carry no markup, so nothing needs escaping. */
export function toAdf(doc: Doc): Record<string, unknown> {
  return {
    type: 'doc',
    version: 1,
    content: doc.map((block) => {
      if ('heading' in block) return { type: 'heading', attrs: { level: 3 }, content: [{ type: 'text', text: cut(block.heading, 500) }] };
      if ('rule' in block) return { type: 'rule' };
      return {
        type: 'paragraph',
        content: block.line
          .filter((part) => (typeof part === 'string' ? part.length > 0 : true))
          .map((part) =>
            typeof part === 'string' ? { type: 'text', text: part } : { type: 'text', text: part.text, marks: [{ type: 'link', attrs: { href: part.href } }] },
          ),
      };
    }),
  };
}
