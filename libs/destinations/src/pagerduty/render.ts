import { createHash } from 'node:crypto';
import type { Finding, Severity } from '@klaxon/findings';
import { allFindings, listCount, type Notification } from '@klaxon/routing';
import {
  byUrgency,
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

/** Events API v2 limits (https://developer.pagerduty.com/docs/send-alert-event): summary 1024, dedup_key 255. */
export const PD_SUMMARY_MAX = 1024;
export const PD_DEDUP_KEY_MAX = 255;
/** Findings quoted in custom_details: an incident is read on a phone, and the event must stay far below 512 KB. */
const MAX_DETAILED = 20;
const MAX_LINKS = 5;
/** Workloads named per finding: an image can run in hundreds of pods; the responder needs a few. */
const MAX_RUNNING_IN = 10;

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export const PD_SEVERITY: Record<Severity, PagerDutySeverity> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

/**
 * The alert's identity at PagerDuty: every event of one notification key lands on the same alert,
 * so a retried or repeated trigger is deduplicated by PagerDuty itself and a resolve closes it.
 */
export function dedupKeyOf(notificationKey: string): string {
  const readable = `klaxon/${notificationKey}`;
  return readable.length <= PD_DEDUP_KEY_MAX ? readable : `klaxon/${createHash('sha256').update(notificationKey).digest('hex')}`;
}

export interface TriggerPayload {
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  timestamp: string;
  component?: string;
  group?: string;
  class?: string;
  custom_details: Record<string, unknown>;
}

export interface TriggerEvent {
  payload: TriggerPayload;
  links: Array<{ href: string; text: string }>;
}

/** A trigger for everything still open in the group: new and regressed first, then what was told already. */
export function renderTrigger(n: Notification): TriggerEvent {
  const open = openFindings(n);
  // Findings told earlier come as counts: the lead is the most urgent record carried.
  const count = openCount(n);
  const lead = open[0] ?? allFindings(n)[0];
  const severity = worstOpenSeverity(n);
  const group = groupLabelText(n);
  const where = lead ? (workloadText(lead) ?? imageText(lead) ?? lead.code?.repo) : undefined;
  const what = lead
    ? `${findingName(lead)}${lead.title && lead.title !== lead.rule.id ? `: ${lead.title}` : ''}`
    : count > 0
      ? `${count} finding${count === 1 ? '' : 's'} still open in ${group || `route ${n.route}`}`
      : `route ${n.route}`;
  const others = lead && count > 1 ? ` (+${count - 1} more)` : '';
  const summary = cut(`[${lead?.severity ?? severity}] ${what}${where ? ` on ${where}` : ''}${others}`, PD_SUMMARY_MAX);

  // Links and the class come from the findings the incident quotes, the records it is sent (pagerdutyShows).
  const quoted = open.slice(0, MAX_DETAILED);
  const links: TriggerEvent['links'] = [];
  for (const f of quoted) {
    const pr = pullRequestUrl(f);
    if (pr && !links.some((l) => l.href === pr)) links.push({ href: pr, text: `Pull request #${f.code!.pullRequest}` });
    const rule = ruleUrl(f);
    if (rule && !links.some((l) => l.href === rule)) links.push({ href: rule, text: f.rule.id });
    if (links.length >= MAX_LINKS) break;
  }

  return {
    payload: {
      summary,
      // `source` is the affected system as the responder knows it: the workload, else the image.
      source: cut(where ?? (group || 'klaxon'), 255),
      severity: PD_SEVERITY[severity],
      timestamp: n.createdAt,
      component: lead?.workload?.name ?? lead?.artifact?.repository,
      group: lead?.workload?.namespace ?? (group || undefined),
      class: [...new Set(quoted.map((f) => f.kind))].sort().join(',') || undefined,
      custom_details: {
        route: n.route,
        group: n.groupLabels,
        counts: { new: listCount(n, 'new'), regressed: listCount(n, 'regressed'), open: count, resolved: listCount(n, 'resolved') },
        findings: quoted.map(details),
        ...(count > Math.min(open.length, MAX_DETAILED) ? { more: count - Math.min(open.length, MAX_DETAILED) } : {}),
        ...(n.eventId ? { klaxon_event: n.eventId } : {}),
      },
    },
    links,
  };
}

/**
 * The records of one change list an incident can quote (DestinationDescriptor.shows): the most urgent
 * MAX_DETAILED, which hold the lead, the quoted findings and the first links of the merged open list.
 */
export function pagerdutyShows(findings: Finding[]): Finding[] {
  return [...findings].sort(byUrgency).slice(0, MAX_DETAILED);
}

function details(f: Finding): Record<string, unknown> {
  const entry: Record<string, unknown> = { rule: f.rule.id, severity: f.severity, title: cut(f.title, 300), fingerprint: f.fingerprint };
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== '') entry[key] = value;
  };
  set('package', packageText(f));
  set('image', imageText(f));
  set('workload', workloadText(f));
  set('risk', f.risk ? { score: f.risk.score, reasons: f.risk.reasons } : undefined);
  set('exploited', f.rule.exploited);
  set('remediation', remediationText(f) && cut(remediationText(f)!, 500));
  set('environment', f.environment);
  set('exposure', f.exposure);
  set('code', codeDetails(f));
  set('correlation', correlationDetails(f));
  return entry;
}

/** The code side of an incident: which repo, commit and pull request shipped what is running. */
function codeDetails(f: Finding): Record<string, unknown> | undefined {
  const c = f.code;
  if (!c?.repo && !c?.commit) return undefined;
  const code = {
    repo: c.repo,
    commit: c.commit,
    branch: c.branch,
    pull_request: c.pullRequest,
    pull_request_url: pullRequestUrl(f),
    path: c.path,
    line: c.line,
  };
  return Object.fromEntries(Object.entries(code).filter(([, v]) => v !== undefined));
}

/**
 * What the correlate step found (libs/triage/src/correlate): the image's fixable vulnerable packages,
 * the build, the workload with its owners. It is Klaxon's own record, passed on as written, with only
 * the list of workloads cut.
 */
function correlationDetails(f: Finding): Record<string, unknown> | undefined {
  const correlation = f.raw?.correlation as Record<string, unknown> | undefined;
  if (!correlation) return undefined;
  const runningIn = Array.isArray(correlation.runningIn) ? (correlation.runningIn as unknown[]) : [];
  if (runningIn.length <= MAX_RUNNING_IN) return correlation;
  return { ...correlation, runningIn: runningIn.slice(0, MAX_RUNNING_IN), runningInMore: runningIn.length - MAX_RUNNING_IN };
}
