import { SEVERITIES, compareSeverityDesc, type Finding, type Severity } from '@klaxon/findings';
import { listBySeverity, listCount, stillOpen, type Notification } from '@klaxon/routing';

/**
 * Plain facts about a finding that every destination shows, before any markup: the text is raw and
 * each renderer escapes it for its own syntax (Jira wiki, Markdown, PagerDuty JSON).
 */

/** Only plain http(s) URLs are ever linked: a reference is tool input and could be anything. */
export function safeHttpUrl(url: string | undefined): string | undefined {
  if (!url || url.length > 500 || !/^https?:\/\/[^\s<>"'|\\^`{}[\]]+$/.test(url)) return undefined;
  return url;
}

/** The rule's page: the tool's first plain reference (NVD, GHSA, the check's docs). */
export function ruleUrl(f: Finding): string | undefined {
  return f.rule.references.map(safeHttpUrl).find(Boolean);
}

/** `owner/name` of a GitHub repository, when code.repo is one. */
export function githubRepo(f: Finding): { owner: string; repo: string } | undefined {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(f.code?.repo ?? '');
  return match ? { owner: match[1]!, repo: match[2]! } : undefined;
}

export function pullRequestUrl(f: Finding): string | undefined {
  const repo = githubRepo(f);
  return repo && f.code?.pullRequest ? `https://github.com/${repo.owner}/${repo.repo}/pull/${f.code.pullRequest}` : undefined;
}

/** `openssl 3.0.11-1 → 3.0.13-1` or `openssl 3.0.11-1 (no fix yet)`. */
export function packageText(f: Finding): string | undefined {
  const p = f.package;
  if (!p) return undefined;
  const installed = p.installed ? ` ${p.installed}` : '';
  return p.fixed ? `${p.name}${installed} → ${p.fixed}` : `${p.name}${installed} (no fix yet)`;
}

export function imageText(f: Finding): string | undefined {
  const a = f.artifact;
  if (!a?.repository && !a?.digest) return undefined;
  const name = [a.registry, a.repository].filter(Boolean).join('/');
  return `${name}${a.tag ? `:${a.tag}` : ''}${a.digest ? `@${a.digest}` : ''}`;
}

export function workloadText(f: Finding): string | undefined {
  const w = f.workload;
  if (!w?.name && !w?.namespace) return undefined;
  const path = [w.cluster, w.namespace, w.kind, w.name].filter(Boolean).join('/');
  return w.container ? `${path} (container ${w.container})` : path;
}

export function codeText(f: Finding): string | undefined {
  const c = f.code;
  if (!c?.repo) return undefined;
  const at = c.path ? ` ${c.path}${c.line ? `:${c.line}` : ''}` : '';
  const commit = c.commit ? ` @ ${c.commit.slice(0, 12)}` : '';
  const pr = c.pullRequest ? ` (PR #${c.pullRequest})` : '';
  return `${c.repo}${at}${commit}${pr}`;
}

/** What someone should do: the tool's remediation, else the upgrade a fixed version implies. */
export function remediationText(f: Finding): string | undefined {
  if (f.remediation) return f.remediation;
  if (f.package?.fixed) return `Upgrade ${f.package.name} to ${f.package.fixed} or later.`;
  return undefined;
}

/** `CVE-2024-2511 in openssl` / the rule id and title, one line. */
export function findingName(f: Finding): string {
  const pkg = f.package ? ` in ${f.package.name}` : '';
  return `${f.rule.id}${pkg}`;
}

/** Severity first, then risk, then id: the order people triage in; stable for identical input. */
export function byUrgency(a: Finding, b: Finding): number {
  return (
    compareSeverityDesc(a.severity, b.severity) ||
    (b.risk?.score ?? 0) - (a.risk?.score ?? 0) ||
    Number(b.fixable) - Number(a.fixable) ||
    (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0) ||
    (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0)
  );
}

/** Everything the group held is resolved: the root message, ticket or alert can say so. */
export function isAllResolved(n: Notification): boolean {
  return (
    listCount(n, 'new') === 0 && listCount(n, 'regressed') === 0 && n.changes.open.length === 0 && stillOpen(n).count === 0 && listCount(n, 'resolved') > 0
  );
}

/**
 * The records of what is open in a notification's group, most urgent first: new and regressed, and of
 * what was told already those the notification carries (changed ones; all of them for whole-state routes).
 */
export function openFindings(n: Notification): Finding[] {
  return [...n.changes.new, ...n.changes.regressed, ...n.changes.open].sort(byUrgency);
}

/** How many findings are open in the group: new, regressed, and every one told already (records carried or not). */
export function openCount(n: Notification): number {
  return listCount(n, 'new') + listCount(n, 'regressed') + stillOpen(n).count;
}

/** Open findings of the group by severity, counted from the records, what was left out of them and the told counts. */
export function openBySeverity(n: Notification): Partial<Record<Severity, number>> {
  const counts: Partial<Record<Severity, number>> = {};
  const carried = [listBySeverity(n, 'new'), listBySeverity(n, 'regressed'), stillOpen(n).bySeverity];
  for (const [severity, count] of carried.flatMap((c) => Object.entries(c))) {
    const s = (SEVERITIES as readonly string[]).includes(severity) ? (severity as Severity) : 'info';
    counts[s] = (counts[s] ?? 0) + count;
  }
  return counts;
}

/** The most severe of everything open in the group ('info' when nothing is). */
export function worstOpenSeverity(n: Notification): Severity {
  return [...SEVERITIES].sort(compareSeverityDesc).find((s) => (openBySeverity(n)[s] ?? 0) > 0) ?? 'info';
}

/** The group's label values in route order (`prod-shop, checkout`); empty when the route groups by nothing. */
export function groupLabelText(n: Notification): string {
  return Object.values(n.groupLabels).filter(Boolean).join(', ');
}

/** The most severe of a list (info when empty). */
export function worstSeverity(findings: Finding[]): Finding['severity'] {
  return [...findings].sort(byUrgency)[0]?.severity ?? 'info';
}

/** Cuts text to `max` characters (code points kept whole), with an ellipsis. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}
