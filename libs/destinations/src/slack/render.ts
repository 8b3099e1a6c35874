import type { ContextBlock, DividerBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import { compareSeverityDesc, SEVERITIES, type Finding, type Severity } from '@klaxon/findings';
import { allFindings, listBySeverity, listCount, stillOpen, type Notification } from '@klaxon/routing';
import { isAllResolved } from '../finding-facts';

export interface SlackRenderOptions {
  /** Klaxon's public base URL: when set, rule ids link to `/v1/findings/{fingerprint}`. */
  klaxonUrl?: string;
}

export interface SlackRendering {
  /** Fallback text: what push notifications, screen readers and old clients show. */
  text: string;
  blocks: KnownBlock[];
}

/**
 * Slack's limits for one message (https://api.slack.com/reference/block-kit/blocks): more than 50
 * blocks, a section text over 3000 characters or a header over 150 and chat.postMessage answers
 * `invalid_blocks`. Top-level text is cut at 40,000 characters (`msg_too_long`); the fallback is a
 * notification preview, so it stays far below that.
 */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fallbackText: 3000,
} as const;

/** Beyond this many findings per severity a list stops being read; the rest is a "+N more" line. */
const MAX_LISTED_PER_GROUP = 20;
/** Findings named in the fallback text. */
const MAX_LISTED_IN_FALLBACK = 5;
/** Room kept in every section for the "+N more" line. */
const MORE_LINE_RESERVE = 80;

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
  info: ':white_circle:',
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Escapes text for Slack: `&`, `<` and `>` are control characters (`<!channel>`, `<@U123>`,
 * `<https://x|label>`), so a finding title can never ping or link
 * (https://api.slack.com/reference/surfaces/formatting#escaping). With `max`, the escaped result is
 * cut to at most `max` characters without splitting an entity or a surrogate pair.
 */
export function escapeMrkdwn(raw: string, max = Number.POSITIVE_INFINITY): string {
  const full = raw.replace(/[&<>]/g, (c) => ESCAPES[c]!);
  if (full.length <= max) return full;
  let out = '';
  for (const ch of raw) {
    const piece = ESCAPES[ch] ?? ch;
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/**
 * One Slack message for a notification: a header naming the group with per-severity counts, the new
 * and regressed findings grouped by severity (critical first), then the resolved ones. When the
 * notification only resolves, it renders as resolved (used for the thread reply and the root update).
 * Pure: no clock, the time shown is `notification.createdAt`.
 */
export function renderSlack(notification: Notification, opts: SlackRenderOptions = {}): SlackRendering {
  const { new: added, regressed, open, resolved } = notification.changes;
  const allResolved = isAllResolved(notification);
  const reminder = listCount(notification, 'new') === 0 && listCount(notification, 'regressed') === 0 && listCount(notification, 'resolved') === 0;
  // A repeat with nothing changed reminds of what is still open (counted; listed where records came, as for
  // findings whose data changed); otherwise open findings were told already.
  const listed = reminder ? open : [...added, ...regressed];
  // How many there are of each severity: the records carried and those left out of this notification (changes.more).
  const listedCounts = reminder ? countBySeverity(open) : sumCounts(listBySeverity(notification, 'new'), listBySeverity(notification, 'regressed'));
  const regressedSet = new Set(regressed.map((f) => f.fingerprint));

  const groups: FindingGroup[] = [];
  for (const severity of [...SEVERITIES].sort(compareSeverityDesc)) {
    const findings = listed.filter((f) => f.severity === severity).sort(compareFindings);
    const total = listedCounts[severity] ?? 0;
    if (total === 0) continue;
    groups.push({
      heading: `${SEVERITY_EMOJI[severity]} *${capitalize(severity)}* (${total})`,
      findings,
      total,
      moreLabel: severity,
      lineOf: (f) => findingLine(f, opts, { regressed: regressedSet.has(f.fingerprint) }),
    });
  }
  const resolvedTotal = listCount(notification, 'resolved');
  if (resolvedTotal > 0) {
    groups.push({
      heading: `:white_check_mark: *Resolved* (${resolvedTotal})`,
      findings: [...resolved].sort((a, b) => compareSeverityDesc(a.severity, b.severity) || compareFindings(a, b)),
      total: resolvedTotal,
      moreLabel: 'resolved',
      lineOf: (f) => findingLine(f, opts, { severity: true }),
    });
  }

  const headline = renderHeadline(notification, listedCounts, { allResolved, reminder });
  const fixed: KnownBlock[] = [headerBlock(headline), contextBlock(notification, opts, { reminder })];
  const needsDivider = resolvedTotal > 0 && groups.length > 1;
  const available = SLACK_LIMITS.blocks - fixed.length - (needsDivider ? 1 : 0);
  // Every group gets an equal share of the remaining blocks, so the critical list cannot crowd out
  // the resolved one and the message never exceeds Slack's 50 blocks.
  const perGroup = groups.length > 0 ? Math.max(1, Math.floor(available / groups.length)) : 0;

  const blocks = [...fixed];
  for (const group of groups) {
    if (needsDivider && group.moreLabel === 'resolved') blocks.push({ type: 'divider' } satisfies DividerBlock);
    blocks.push(...groupSections(group, perGroup));
  }
  return { text: fallbackText(headline, listed.length > 0 ? listed : resolved), blocks };
}

/**
 * The records of one change list a Slack message can show (DestinationDescriptor.shows): the first
 * MAX_LISTED_PER_GROUP of each severity in the order the message lists them. The resolved list and the
 * fallback text take theirs from the same severities' heads, so nothing the message names is left out.
 */
export function slackShows(findings: Finding[]): Finding[] {
  const kept: Finding[] = [];
  for (const severity of SEVERITIES)
    kept.push(
      ...findings
        .filter((f) => f.severity === severity)
        .sort(compareFindings)
        .slice(0, MAX_LISTED_PER_GROUP),
    );
  return kept;
}

interface FindingGroup {
  heading: string;
  findings: Finding[];
  /** Findings of the group, listed or not (the notification may carry only the first ones). */
  total: number;
  moreLabel: string;
  lineOf: (f: Finding) => string;
}

/** Packs a group's lines into as few sections as fit Slack's 3000 characters, ending with "+N more". */
function groupSections(group: FindingGroup, maxSections: number): SectionBlock[] {
  const budget = SLACK_LIMITS.sectionText - MORE_LINE_RESERVE;
  const texts: string[] = [];
  let current = group.heading;
  let shown = 0;
  for (const finding of group.findings.slice(0, MAX_LISTED_PER_GROUP)) {
    const line = group.lineOf(finding);
    if (current.length + 1 + line.length <= budget) {
      current = `${current}\n${line}`;
    } else if (texts.length + 1 < maxSections) {
      texts.push(current);
      current = line;
    } else {
      break;
    }
    shown++;
  }
  const hidden = group.total - shown;
  if (hidden > 0) current = `${current}\n_+${hidden} more ${group.moreLabel}_`;
  texts.push(current);
  return texts.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text, verbatim: true } }));
}

/** "12 new findings in shop/checkout: 3 critical, 5 high, 4 medium" (plain text, at most 150 characters). */
function renderHeadline(n: Notification, listedCounts: Record<string, number>, { allResolved, reminder }: { allResolved: boolean; reminder: boolean }): string {
  const added = listCount(n, 'new');
  const regressed = listCount(n, 'regressed');
  const resolved = listCount(n, 'resolved');
  const listed = Object.values(listedCounts).reduce((a, b) => a + b, 0);
  const told = stillOpen(n);
  let make: (group: string) => string;
  if (allResolved) {
    make = (g) => `:white_check_mark: All ${plural(resolved, 'finding')} resolved in ${g}`;
  } else if (reminder && told.count > 0) {
    make = (g) => `${plural(told.count, 'finding')} still open in ${g}: ${countsText(told.bySeverity)}`;
  } else if (listed > 0) {
    const what = reminder
      ? `${plural(listed, 'finding')} still open`
      : added && regressed
        ? `${added} new and ${regressed} regressed findings`
        : added
          ? `${plural(added, 'new finding')}`
          : `${plural(regressed, 'regressed finding')}`;
    make = (g) => `${what} in ${g}: ${countsText(listedCounts)}`;
  } else if (resolved > 0) {
    make = (g) => `${plural(resolved, 'finding')} resolved in ${g}`;
  } else {
    make = (g) => `No changes in ${g}`;
  }
  const room = SLACK_LIMITS.headerText - make('').length;
  return make(escapeMrkdwn(groupName(n), Math.max(room, 1))).slice(0, SLACK_LIMITS.headerText);
}

/** What the group is: its group labels, else the one image, workload or repo all its findings share. */
function groupName(n: Notification): string {
  const labels = Object.entries(n.groupLabels)
    .sort(([a], [b]) => compareText(a, b))
    .map(([, value]) => value)
    .filter(Boolean);
  if (labels.length > 0) return labels.join(', ');
  const findings = allFindings(n);
  const candidates: Array<(f: Finding) => string | undefined> = [
    (f) => f.artifact?.repository,
    (f) => (f.workload?.name ? [f.workload.namespace, f.workload.name].filter(Boolean).join('/') : undefined),
    (f) => f.code?.repo,
  ];
  for (const pick of candidates) {
    const values = new Set(findings.map(pick));
    const [only] = values;
    if (values.size === 1 && only) return only;
  }
  return `route ${n.route}`;
}

function countBySeverity(findings: Finding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return counts;
}

function sumCounts(...all: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of all) for (const [key, n] of Object.entries(counts)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

/** `3 critical, 5 high` from counts by severity, most severe first. */
function countsText(counts: Record<string, number>): string {
  return [...SEVERITIES]
    .sort(compareSeverityDesc)
    .map((s) => [s, counts[s] ?? 0] as const)
    .filter(([, count]) => count > 0)
    .map(([s, count]) => `${count} ${s}`)
    .join(', ');
}

function headerBlock(text: string): HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text, emoji: true } };
}

function contextBlock(n: Notification, opts: SlackRenderOptions, { reminder }: { reminder: boolean }): ContextBlock {
  const parts = [`Route *${escapeMrkdwn(n.route, 200)}*`, formatTime(n.createdAt)];
  const told = stillOpen(n).count;
  if (!reminder && told > 0) parts.push(`${told} still open`);
  const base = safeUrl(opts.klaxonUrl);
  if (base && n.eventId && /^[\w.-]+$/.test(n.eventId)) parts.push(`<${base}/v1/events/${n.eventId}|event ${n.eventId}>`);
  return { type: 'context', elements: [{ type: 'mrkdwn', text: parts.join(' · '), verbatim: true }] };
}

/**
 * `• *CVE-2024-2511* openssl: unbounded memory growth (regressed)`
 * `      openssl \`3.0.11-1\` → \`3.0.13-1\` · harbor.example.com/shop/checkout@sha256:9f2c1a7e3b5d · prod/Deployment/checkout`
 * Every user-controlled piece is escaped and cut, so one line stays far below a section's 3000.
 */
function findingLine(f: Finding, opts: SlackRenderOptions, show: { regressed?: boolean; severity?: boolean }): string {
  const id = escapeMrkdwn(f.rule.id, 80);
  const link = findingUrl(f, opts);
  const label = link ? `*<${link}|${id}>*` : `*${id}*`;
  // Parsers often start a title with the rule id ("CVE-2024-1 in openssl — …"); the link already shows it.
  const rest = f.title.startsWith(f.rule.id) ? f.title.slice(f.rule.id.length).trim() : f.title;
  const title = rest ? ` ${escapeMrkdwn(rest, 200)}` : '';
  const tags = [
    show.severity ? f.severity : undefined,
    show.regressed ? 'regressed' : undefined,
    f.rule.exploited ? 'known exploited' : undefined,
    f.risk ? `risk ${f.risk.score}` : undefined,
  ].filter((t): t is string => t !== undefined);
  const details = [packageText(f), artifactText(f), workloadText(f), codeText(f)].filter(Boolean).join(' · ');
  const head = `• ${label}${title}${tags.length ? ` _(${tags.join(', ')})_` : ''}`;
  // The tool's remediation, when it says more than the fixed version already shown.
  const saysMore = f.remediation && !(f.package?.fixed && f.remediation.includes(f.package.fixed));
  const fix = saysMore ? `\n      _Fix:_ ${escapeMrkdwn(f.remediation!.replace(/\s+/g, ' '), 200)}` : '';
  return `${details ? `${head}\n      ${details}` : head}${fix}`;
}

function packageText(f: Finding): string | undefined {
  const p = f.package;
  if (!p) return undefined;
  const name = escapeMrkdwn(p.name, 60);
  const installed = p.installed ? ` ${code(p.installed)}` : '';
  const fixed = p.fixed ? `→ ${code(p.fixed)}` : '→ no fix yet';
  return `${name}${installed} ${fixed}`;
}

function artifactText(f: Finding): string | undefined {
  const a = f.artifact;
  if (!a?.repository && !a?.digest) return undefined;
  const name = [a.registry, a.repository].filter(Boolean).join('/');
  const digest = a.digest ? `@${a.digest.slice(0, 'sha256:'.length + 12)}` : '';
  const tag = a.tag && !a.digest ? `:${a.tag}` : '';
  return escapeMrkdwn(`${name}${tag}${digest}`, 160);
}

function workloadText(f: Finding): string | undefined {
  const w = f.workload;
  if (!w?.name && !w?.namespace) return undefined;
  const path = [w.cluster, w.namespace, w.kind, w.name].filter(Boolean).join('/');
  return escapeMrkdwn(w.container ? `${path} (${w.container})` : path, 160);
}

function codeText(f: Finding): string | undefined {
  const c = f.code;
  if (!c?.repo) return undefined;
  const where = c.path ? `:${c.path}${c.line ? `:${c.line}` : ''}` : c.commit ? `@${c.commit.slice(0, 7)}` : '';
  const text = escapeMrkdwn(`${c.repo}${where}`, 140);
  if (!c.pullRequest) return text;
  // Only a plain owner/name makes a GitHub link; anything else stays text.
  const pr = /^[\w.-]+\/[\w.-]+$/.test(c.repo) ? `<https://github.com/${c.repo}/pull/${c.pullRequest}|PR #${c.pullRequest}>` : `PR #${c.pullRequest}`;
  return `${text} (${pr})`;
}

/** A version in a code span: backticks inside would end the span early. */
function code(value: string): string {
  return `\`${escapeMrkdwn(value.replace(/`/g, "'"), 40)}\``;
}

/** Klaxon's page of the finding, else the tool's first reference (NVD, advisory), when it is a plain URL. */
function findingUrl(f: Finding, opts: SlackRenderOptions): string | undefined {
  const base = safeUrl(opts.klaxonUrl);
  if (base && /^[0-9a-f]+$/i.test(f.fingerprint)) return `${base}/v1/findings/${f.fingerprint}`;
  return f.rule.references.map(safeUrl).find(Boolean);
}

/** Only URLs that cannot break out of `<url|label>`: no spaces, `<`, `>` or `|`; `&` is escaped. */
function safeUrl(url: string | undefined): string | undefined {
  if (!url || url.length > 300 || !/^https?:\/\/[^\s<>|]+$/.test(url)) return undefined;
  return url.replace(/\/+$/, '').replace(/&/g, '&amp;');
}

/** The headline and a few findings: a preview, not the message. */
function fallbackText(headline: string, findings: Finding[]): string {
  const sorted = [...findings].sort((a, b) => compareSeverityDesc(a.severity, b.severity) || compareFindings(a, b));
  const lines = sorted.slice(0, MAX_LISTED_IN_FALLBACK).map((f) => {
    const pkg = f.package ? ` in ${escapeMrkdwn(f.package.name, 60)}` : '';
    return `• ${f.severity} ${escapeMrkdwn(f.rule.id, 80)}${pkg}`;
  });
  const hidden = sorted.length - lines.length;
  if (hidden > 0) lines.push(`+${hidden} more`);
  const text = [headline, ...lines].join('\n');
  return text.length <= SLACK_LIMITS.fallbackText ? text : `${text.slice(0, SLACK_LIMITS.fallbackText - 1)}…`;
}

/** Known exploited first, then riskier, then fixable ones (someone can act on them), then stable by id. */
function compareFindings(a: Finding, b: Finding): number {
  return (
    Number(b.rule.exploited ?? false) - Number(a.rule.exploited ?? false) ||
    (b.risk?.score ?? 0) - (a.risk?.score ?? 0) ||
    Number(b.fixable) - Number(a.fixable) ||
    compareText(a.rule.id, b.rule.id) ||
    compareText(a.fingerprint, b.fingerprint)
  );
}

/** Code-unit order, not localeCompare: the output must not depend on the host's locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeMrkdwn(iso, 40);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
