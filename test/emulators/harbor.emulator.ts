import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Harbor v2.0 API double for the one call Klaxon makes:
 * `GET /api/v2.0/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/additions/vulnerabilities`
 * (api/v2.0/swagger.yaml in goharbor/harbor). As Harbor does, it wants basic auth (401 with Harbor's
 * `{errors:[{code,message}]}` body otherwise), reads a repository name with a slash only when it is
 * encoded twice (`a%252Fb`: a once-encoded `a%2Fb` decodes to a path separator and matches no route),
 * answers 404 for an artifact it does not hold, and returns the reports keyed by MIME type, limited to
 * those asked for in `X-Accept-Vulnerabilities` when the header is present.
 */

export interface HarborRequest {
  path: string;
  project?: string;
  repository?: string;
  reference?: string;
  status: number;
  username?: string;
  acceptVulnerabilities?: string;
}

export type HarborFault = { status: 429; retryAfter: number } | { status: 500 | 502 | 503 | 504 };

export interface HarborEmulatorOptions {
  username?: string;
  password?: string;
}

export const ROBOT_USERNAME = 'robot$shop+klaxon';
export const ROBOT_PASSWORD = 'robot-secret-for-tests';

const ROUTE = /^\/api\/v2\.0\/projects\/([^/]+)\/repositories\/([^/]+)\/artifacts\/([^/]+)\/additions\/vulnerabilities$/;

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

function harborError(status: number, code: string, message: string): Reply {
  return { status, body: { errors: [{ code, message }] } };
}

export class HarborEmulator {
  readonly requests: HarborRequest[] = [];
  private readonly reports = new Map<string, Record<string, unknown>>();
  private faults: HarborFault[] = [];
  private readonly username: string;
  private readonly password: string;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    opts: HarborEmulatorOptions,
  ) {
    this.username = opts.username ?? ROBOT_USERNAME;
    this.password = opts.password ?? ROBOT_PASSWORD;
  }

  static async start(opts: HarborEmulatorOptions = {}): Promise<HarborEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emulator = new HarborEmulator(server, `http://127.0.0.1:${port}`, opts);
    server.on('request', (req, res) => emulator.handle(req, res));
    return emulator;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Holds `reports` (MIME type → report) for the artifact `repository@digest` of `project`. */
  setReport(project: string, repository: string, digest: string, reports: Record<string, unknown>): void {
    this.reports.set(`${project}\u0000${repository}\u0000${digest}`, reports);
  }

  /** The next `n` report requests fail with `fault`. */
  failNext(n: number, fault: HarborFault): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0]!;
    const record: HarborRequest = { path, status: 0, acceptVulnerabilities: header(req, 'x-accept-vulnerabilities') };
    const reply = this.serve(req, path, record);
    record.status = reply.status;
    this.requests.push(record);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  }

  private serve(req: IncomingMessage, path: string, record: HarborRequest): Reply {
    if (req.method !== 'GET') return harborError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed`);
    const credentials = basicAuth(header(req, 'authorization'));
    record.username = credentials?.username;
    if (!credentials || credentials.username !== this.username || credentials.password !== this.password) {
      return harborError(401, 'UNAUTHORIZED', 'unauthorized');
    }
    const match = ROUTE.exec(path);
    if (!match) return harborError(404, 'NOT_FOUND', `no route for ${path}`);
    const project = decodeURIComponent(match[1]!);
    // The router decodes once; a slash that appears then was encoded only once and splits the path.
    const once = decodeURIComponent(match[2]!);
    if (once.includes('/')) return harborError(404, 'NOT_FOUND', `no route for ${path}`);
    const repository = decodeURIComponent(once);
    const reference = decodeURIComponent(match[3]!);
    Object.assign(record, { project, repository, reference });

    const fault = this.faults.shift();
    if (fault) {
      return fault.status === 429
        ? { ...harborError(429, 'TOO_MANY_REQUESTS', 'too many requests'), headers: { 'retry-after': String(fault.retryAfter) } }
        : harborError(fault.status, 'UNKNOWN', 'internal error');
    }
    const reports = this.reports.get(`${project}\u0000${project}/${repository}\u0000${reference}`);
    if (!reports) return harborError(404, 'NOT_FOUND', `artifact ${project}/${repository}@${reference} not found`);
    const accepted = record.acceptVulnerabilities?.split(',').map((m) => m.trim());
    const body = accepted ? Object.fromEntries(Object.entries(reports).filter(([mime]) => accepted.includes(mime))) : reports;
    return { status: 200, body };
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function basicAuth(value: string | undefined): { username: string; password: string } | undefined {
  if (!value?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(value.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
