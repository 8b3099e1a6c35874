import type { Finding } from '@klaxon/findings';
import type { DetectionEvidence } from './evidence';
import { proposalOf, type Proposal } from './proposal';
import { suggestionOf, type Suggestion } from './suggestion';

// GitHub-flavoured Markdown for a PR comment's "suggestions" section: a destination calls
// renderSuggestionsMarkdown(findings) with the `suggestion` findings of a notification (proposals,
// lower-priority items, and per-rule suggestions routed before proposals existed).

function fence(language: string, body: string): string {
  return ['```' + language, body.trimEnd(), '```'].join('\n');
}

function details(summary: string, body: string): string {
  return ['<details>', `<summary>${summary}</summary>`, '', body, '', '</details>'].join('\n');
}

/**
 * Sensor text in a table cell: a line break would end the row and let the rest render as Markdown, `|`
 * would end the cell, HTML and `@name` (a mention) must stay text. Rule names and command lines come
 * from the runtime, where an intruder chooses them.
 */
function cell(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#!~])/g, '\\$1')
    .replace(/@/g, '@&#8203;');
}

/** A sample in a code span (mentions and HTML stay text there), on one line and without a span-ending backtick. */
function sampleSpan(sample: string): string {
  return `\`${sample.replace(/[|`\r\n]/g, ' ')}\``;
}

function subject(s: Suggestion): string {
  const w = s.workload;
  const image = s.image?.repository ? ` (image \`${s.image.repository}${s.image.tag ? `:${s.image.tag}` : ''}\`)` : '';
  return w ? `\`${w.namespace}/${w.kind ? `${w.kind.toLowerCase()}/` : ''}${w.name}\`${image}` : image.trim();
}

function evidenceTable(detections: DetectionEvidence[]): string {
  const rows = detections
    .map((d) => `| ${cell(d.rule)} | ${cell(d.tool)} | ${d.count} | ${cell(d.firstSeen)} | ${cell(d.lastSeen)} | ${d.samples.map(sampleSpan).join('<br>')} |`)
    .join('\n');
  return `| detection | tool | count | first seen | last seen | examples |\n| --- | --- | --- | --- | --- | --- |\n${rows}`;
}

/** What is a rule's own, apart from the shared securityContext and Dockerfile changes: RBAC, NetworkPolicy, its policies. */
function ruleOwnParts(s: Suggestion): string[] {
  const parts: string[] = [];
  if (s.changes.rbac) parts.push('', details('RBAC for pods/exec', fence('yaml', s.changes.rbac)));
  if (s.changes.networkPolicy) parts.push('', details('NetworkPolicy from observed egress (review before applying)', fence('yaml', s.changes.networkPolicy)));
  if (s.policies.kyverno) parts.push('', details('Kyverno ClusterPolicy', fence('yaml', s.policies.kyverno)));
  if (s.policies.gatekeeper) {
    const yaml = `${s.policies.gatekeeper.template}---\n${s.policies.gatekeeper.constraint}`;
    parts.push('', details('OPA Gatekeeper ConstraintTemplate + Constraint', fence('yaml', yaml)));
  }
  return parts;
}

export function renderSuggestionMarkdown(s: Suggestion): string {
  const parts = [`### ${s.rule.title} — ${subject(s)}`, `**${s.rule.severity}** · ${s.rule.why}`, '', evidenceTable(s.evidence.detections)];
  if (s.changes.dockerfile.length) parts.push('', '**Dockerfile**', ...s.changes.dockerfile.map((h) => `- ${h}`));
  if (s.changes.ci.length) parts.push('', '**CI**', ...s.changes.ci.map((c) => `- \`${c}\``));
  if (s.changes.securityContextPatch) parts.push('', details('securityContext patch', fence('yaml', s.changes.securityContextPatch)));
  return [...parts, ...ruleOwnParts(s)].join('\n');
}

/** A rule's section of a proposal: why, what backs it, and its own policies (the shared changes are on top). */
function proposalSection(p: Proposal, i: number): string {
  const { suggestion: s, priority, lowerBecause } = p.sections[i];
  const backing = s.evidence.detections.map((d) => `${cell(d.rule)} ×${d.count}`).join(', ');
  const parts = [
    `### ${i + 1}. ${s.rule.title}`,
    `**${priority}**${lowerBecause ? ` (${cell(lowerBecause)})` : ''} · ${s.rule.why}`,
    '',
    `Backed by: ${backing}.`,
  ];
  return [...parts, ...ruleOwnParts(s)].join('\n');
}

/** One proposal: the merged evidence and changes first, then a section per rule. */
export function renderProposalMarkdown(p: Proposal): string {
  const e = p.evidence;
  const who = subject({ workload: p.workload, image: p.image } as Suggestion);
  const heading = p.tier === 'proposal' ? `## 🛡️ Hardening proposal — ${who}` : `## Lower-priority hardening — ${who}`;
  const parts = [
    heading,
    `**${p.severity}** · ${p.sections.length} change${p.sections.length === 1 ? '' : 's'} · ${e.count} detection${e.count === 1 ? '' : 's'} by ${e.sources.map(cell).join(', ')} between ${cell(e.firstSeen)} and ${cell(e.lastSeen)}`,
    '',
    evidenceTable(e.detections),
  ];
  if (p.changes.dockerfile.length) parts.push('', '**Dockerfile**', ...p.changes.dockerfile.map((h) => `- ${h}`));
  if (p.changes.ci.length) parts.push('', '**CI**', ...p.changes.ci.map((c) => `- \`${c}\``));
  if (p.changes.securityContextPatch) {
    parts.push('', details('securityContext patch (every securityContext change of this proposal)', fence('yaml', p.changes.securityContextPatch)));
  }
  p.sections.forEach((_, i) => parts.push('', proposalSection(p, i)));
  return parts.join('\n');
}

/** The section for every proposal (and older per-rule suggestion) among `findings`, or '' when there is none. */
export function renderSuggestionsMarkdown(findings: Finding[]): string {
  const proposals = findings
    .map(proposalOf)
    .filter((p): p is Proposal => !!p && p.sections.length > 0)
    .sort((a, b) => (a.tier === b.tier ? 0 : a.tier === 'proposal' ? -1 : 1));
  const suggestions = findings.map(suggestionOf).filter((s): s is Suggestion => !!s);
  const parts = proposals.map(renderProposalMarkdown);
  if (suggestions.length)
    parts.push([`## Hardening suggestions from runtime (${suggestions.length})`, '', ...suggestions.map(renderSuggestionMarkdown)].join('\n\n'));
  return parts.join('\n\n');
}
