import { createHmac, randomUUID } from 'node:crypto';
import { fixture } from './fixtures';

/**
 * One realistic day of the shared universe (../fixtures/universe.md) for image shop/checkout@sha256:9f2c…,
 * in the order it happened: PR 42 opens, its CI scans the image in three formats and the workflow run
 * completes, the registry is told of the push, the cluster runs it (snapshot, Trivy Operator, Kyverno,
 * kube-bench), an attack is seen by Falco, Tetragon and StackRox, and a nightly rescan finds the same.
 * Correlation specs post it in this order, in reverse, and shuffled with duplicates.
 */
export interface DayInput {
  name: string;
  /** `webhooks/<integration>` or `reports?format=<format>`. */
  path: string;
  /** The parser's format (what the gateway would pick for this path). */
  format: string;
  integration: string;
  body: string;
  /** Headers a sender adds (the GitHub signature is computed when posting). */
  headers?: Record<string, string>;
  /** Parser context (what the gateway reads from the headers). */
  context?: Record<string, unknown>;
}

export const DAY_GITHUB_SECRET = 'correlation-day-secret';

/** The nightly rescan: the CI report again, made by Trivy a day later. */
const rescan = (() => {
  const doc = JSON.parse(fixture('trivy', 'image-checkout.json')) as { CreatedAt: string };
  doc.CreatedAt = '2026-11-24T02:00:00.000000000Z';
  return JSON.stringify(doc);
})();

const github = (name: string, event: string, body: string): DayInput => ({
  name,
  path: 'webhooks/github',
  format: 'github',
  integration: 'github',
  body,
  headers: { 'x-github-event': event },
  context: { event },
});

export const DAY: readonly DayInput[] = [
  github('pull_request opened', 'pull_request', fixture('github', 'pull-request-opened.json')),
  { name: 'CI Trivy scan', path: 'reports?format=trivy', format: 'trivy', integration: 'report', body: fixture('trivy', 'image-checkout.json') },
  { name: 'CI Grype scan', path: 'reports?format=grype', format: 'grype', integration: 'report', body: fixture('grype', 'image-checkout.grype.json') },
  { name: 'CI Trivy SARIF', path: 'reports?format=sarif', format: 'sarif', integration: 'report', body: fixture('sarif', 'trivy-image.sarif.json') },
  github('workflow_run completed', 'workflow_run', fixture('github', 'workflow-run-completed.json')),
  { name: 'registry push', path: 'webhooks/registry', format: 'registry', integration: 'registry', body: fixture('distribution', 'push.json') },
  {
    name: 'cluster snapshot',
    path: 'reports?format=kubernetes',
    format: 'kubernetes',
    integration: 'report',
    body: fixture('kubernetes', 'cluster-list.json'),
  },
  {
    name: 'Trivy Operator vulnerabilities',
    path: 'reports?format=trivy-operator',
    format: 'trivy-operator',
    integration: 'report',
    body: fixture('trivy-operator', 'vulnerabilityreport-checkout.json'),
  },
  {
    name: 'Trivy Operator config audit',
    path: 'reports?format=trivy-operator',
    format: 'trivy-operator',
    integration: 'report',
    body: fixture('trivy-operator', 'configauditreport-checkout.json'),
  },
  {
    name: 'Kyverno policy report',
    path: 'reports?format=policyreport',
    format: 'policyreport',
    integration: 'report',
    body: fixture('policyreport', 'kyverno-v1alpha2-prod-shop.json'),
  },
  { name: 'kube-bench', path: 'reports?format=kube-bench', format: 'kube-bench', integration: 'report', body: fixture('kube-bench', 'master.json') },
  { name: 'Falco attack', path: 'webhooks/falco', format: 'falco', integration: 'falco', body: fixture('falco', 'events-prod-shop.ndjson') },
  { name: 'Tetragon attack', path: 'webhooks/tetragon', format: 'tetragon', integration: 'tetragon', body: fixture('tetragon', 'events-prod-shop.ndjson') },
  { name: 'StackRox attack', path: 'webhooks/stackrox', format: 'stackrox', integration: 'stackrox', body: fixture('stackrox', 'runtime-alert.json') },
  { name: 'nightly rescan', path: 'reports?format=trivy', format: 'trivy', integration: 'report', body: rescan },
];

/** Headers to POST one input with: content type, and for GitHub the event, a delivery id and the signature. */
/** The bearer token the day's sensors and registry send (sources.<name>.token). */
export const DAY_SENSOR_TOKEN = 'day-sensor-token';

export function dayHeaders(input: DayInput): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...input.headers };
  // The runtime sensors and the registry authenticate with a bearer token (webhooks fail closed).
  if (['falco', 'tetragon', 'stackrox', 'registry'].includes(input.integration)) headers.authorization = `Bearer ${DAY_SENSOR_TOKEN}`;
  if (input.integration === 'github') {
    headers['x-github-delivery'] = randomUUID();
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', DAY_GITHUB_SECRET).update(input.body).digest('hex')}`;
  }
  return headers;
}
