import type { Finding } from '@klaxon/findings';
import { suggestionOf, type Suggestion } from './suggestion';

// GitHub-flavoured Markdown for a PR comment's "suggestions" section: a destination calls
// renderSuggestionsMarkdown(findings) with the `suggestion` findings of a notification.

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

export function renderSuggestionMarkdown(s: Suggestion): string {
  const e = s.evidence;
  const evidence = e.detections
    .map((d) => `| ${cell(d.rule)} | ${cell(d.tool)} | ${d.count} | ${cell(d.firstSeen)} | ${cell(d.lastSeen)} | ${d.samples.map(sampleSpan).join('<br>')} |`)
    .join('\n');
  const parts = [
    `### ${s.rule.title} — ${subject(s)}`,
    `**${s.rule.severity}** · ${s.rule.why}`,
    '',
    `| detection | tool | count | first seen | last seen | examples |\n| --- | --- | --- | --- | --- | --- |\n${evidence}`,
  ];
  if (s.changes.dockerfile.length) parts.push('', '**Dockerfile**', ...s.changes.dockerfile.map((h) => `- ${h}`));
  if (s.changes.ci.length) parts.push('', '**CI**', ...s.changes.ci.map((c) => `- \`${c}\``));
  if (s.changes.securityContextPatch) parts.push('', details('securityContext patch', fence('yaml', s.changes.securityContextPatch)));
  if (s.changes.rbac) parts.push('', details('RBAC for pods/exec', fence('yaml', s.changes.rbac)));
  if (s.changes.networkPolicy) parts.push('', details('NetworkPolicy from observed egress (review before applying)', fence('yaml', s.changes.networkPolicy)));
  if (s.policies.kyverno) parts.push('', details('Kyverno ClusterPolicy', fence('yaml', s.policies.kyverno)));
  if (s.policies.gatekeeper) {
    parts.push('', details('OPA Gatekeeper ConstraintTemplate + Constraint', fence('yaml', `${s.policies.gatekeeper.template}---\n${s.policies.gatekeeper.constraint}`)));
  }
  return parts.join('\n');
}

/** The section for every suggestion among `findings`, or '' when there is none. */
export function renderSuggestionsMarkdown(findings: Finding[]): string {
  const suggestions = findings.map(suggestionOf).filter((s): s is Suggestion => !!s);
  if (!suggestions.length) return '';
  return [`## Hardening suggestions from runtime (${suggestions.length})`, '', ...suggestions.map(renderSuggestionMarkdown)].join('\n\n');
}
