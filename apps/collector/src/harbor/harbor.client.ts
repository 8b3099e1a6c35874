import { UnrecoverableError } from 'bullmq';

/** The artifact whose report is wanted, as the scan webhook named it. */
export interface HarborArtifact {
  /** Harbor project (the webhook's `repository.namespace`). */
  project: string;
  /** Full repository name including the project: `shop/checkout`, `shop/team/checkout`. */
  repository: string;
  /** Manifest digest or tag. */
  reference: string;
}

export interface HarborCredentials {
  /** Harbor's base URL, e.g. https://harbor.example.com (the API is under /api/v2.0). */
  url: string;
  /** A robot account (`robot$shop+klaxon`) with "read artifact" on the project. */
  username: string;
  password: string;
}

/** Both report types Harbor stores; it answers with those it has (src/pkg/scan/rest/v1/spec.go). */
const ACCEPT_VULNERABILITIES = [
  'application/vnd.security.vulnerability.report; version=1.1',
  'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
].join(', ');

/** Harbor throttles API clients with 429; the whole queue waits (QueueRegistry reads `code` and `retryAfterMs`). */
export class HarborRateLimited extends Error {
  readonly code = 'rate_limited';
  constructor(readonly retryAfterMs: number) {
    super(`Harbor rate limited the report pull, retry after ${retryAfterMs} ms`);
    this.name = 'HarborRateLimited';
  }
}

/**
 * `GET /api/v2.0/projects/{project}/repositories/{repository}/artifacts/{reference}/additions/vulnerabilities`.
 * The repository is the name inside the project and, as Harbor's API reference says, "if it contains
 * slash, encode it twice over with URL encoding" (a/b → a%2Fb → a%252Fb): Harbor's router decodes once
 * and its handler once more.
 */
export function vulnerabilitiesUrl(base: string, artifact: HarborArtifact): string {
  const prefix = `${artifact.project}/`;
  const inProject = artifact.repository.startsWith(prefix) ? artifact.repository.slice(prefix.length) : artifact.repository;
  const segment = (value: string) => encodeURIComponent(value);
  return [
    base.replace(/\/+$/, ''),
    'api/v2.0/projects',
    segment(artifact.project),
    'repositories',
    segment(segment(inProject)),
    'artifacts',
    segment(artifact.reference),
    'additions/vulnerabilities',
  ].join('/');
}

function retryAfterMs(header: string | null): number {
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = header ? Date.parse(header) : NaN;
  return Number.isFinite(at) ? Math.max(at - Date.now(), 0) : 30_000;
}

/**
 * Fetches the full vulnerability report of one artifact with the robot account's basic auth and returns
 * the body as Harbor sent it (stored raw, parsed by the `harbor-report` parser). Errors say whether a
 * retry can help: 401/403/404 cannot (dead letter with the reason), 429 waits, 5xx and network retry.
 */
export async function fetchVulnerabilityReport(credentials: HarborCredentials, artifact: HarborArtifact, timeoutMs = 30_000): Promise<string> {
  const url = vulnerabilitiesUrl(credentials.url, artifact);
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
  const response = await fetch(url, {
    headers: { accept: 'application/json', 'x-accept-vulnerabilities': ACCEPT_VULNERABILITIES, authorization: `Basic ${auth}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.text();
  const where = `${artifact.repository}@${artifact.reference}`;
  if (response.ok) return body;
  if (response.status === 429) throw new HarborRateLimited(retryAfterMs(response.headers.get('retry-after')));
  if (response.status === 401 || response.status === 403) {
    throw new UnrecoverableError(
      `Harbor refused the report pull of ${where} (${response.status}): check sources.harbor.username/password (a robot account with read access to project ${artifact.project})`,
    );
  }
  if (response.status === 404) throw new UnrecoverableError(`Harbor has no artifact ${where} in project ${artifact.project} (404)`);
  throw new Error(`Harbor answered ${response.status} to the report pull of ${where}`);
}
