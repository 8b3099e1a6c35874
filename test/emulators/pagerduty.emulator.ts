import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`) over TLS, because @pagerduty/pdjs only speaks https.
 * The certificate is self-signed and made at start by `openssl` into a temp dir (node:crypto cannot
 * make X.509 certificates); `caFile` is what a client must trust. Answers as PagerDuty does: 202
 * `{status:'success', message:'Event processed', dedup_key}`, 400 `{status:'invalid event', message:
 * 'Event object is invalid', errors:[…]}`, 429 when rate limited.
 * https://developer.pagerduty.com/docs/send-alert-event
 */

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; [k: string]: unknown };
  links?: Array<{ href: string; text?: string }>;
  images?: unknown[];
}

/** An alert as PagerDuty keeps it per (routing key, dedup_key). Each trigger after a resolve is a new incident. */
export interface PagerDutyAlert {
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  incidents: number;
  events: PagerDutyEvent[];
}

export type PagerDutyFault = { status: 429; retryAfter?: number } | { status: 500 | 502 | 503 };

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
export const DEFAULT_ROUTING_KEY = 'R0KLAXONTESTROUTINGKEY0000000001';

export class PagerDutyEmulator {
  /** Accepted events, in order. */
  readonly events: PagerDutyEvent[] = [];
  readonly calls: Array<{ status: number; action?: string }> = [];
  private readonly alerts = new Map<string, PagerDutyAlert>();
  private faults: PagerDutyFault[] = [];

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    /** The URL to configure as `eventsUrl`. */
    readonly eventsUrl: string,
    /** PEM of the self-signed certificate, to trust as a CA. */
    readonly caFile: string,
    readonly routingKeys: string[],
  ) {}

  static async start(opts: { routingKeys?: string[] } = {}): Promise<PagerDutyEmulator> {
    const dir = mkdtempSync(join(tmpdir(), 'klaxon-pd-'));
    const { key, cert, caFile } = selfSignedCertificate(dir);
    const server = createServer({ key, cert });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emulator = new PagerDutyEmulator(server, dir, `https://127.0.0.1:${port}/v2/enqueue`, caFile, opts.routingKeys ?? [DEFAULT_ROUTING_KEY]);
    server.on('request', (req, res) => void emulator.handle(req, res));
    return emulator;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  failNext(n: number, fault: PagerDutyFault): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  reset(): void {
    this.events.length = 0;
    this.calls.length = 0;
    this.alerts.clear();
    this.faults = [];
  }

  alert(dedupKey: string): PagerDutyAlert | undefined {
    return this.alerts.get(dedupKey);
  }

  allAlerts(): PagerDutyAlert[] {
    return [...this.alerts.values()];
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}, action?: string) => {
      this.calls.push({ status, action });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const fault = this.faults.shift();
    if (fault) {
      if (fault.status === 429) {
        return reply(
          429,
          { status: 'throttle event', message: 'Requests for this service are arriving too quickly.  Please retry later.' },
          fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
        );
      }
      return reply(fault.status, { status: 'error', message: 'Internal error' });
    }
    if (req.method !== 'POST' || req.url !== '/v2/enqueue') return reply(404, { status: 'error', message: 'Not found' });
    let body: Partial<PagerDutyEvent>;
    try {
      body = JSON.parse(raw) as Partial<PagerDutyEvent>;
    } catch {
      return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] });
    }
    const errors = validate(body);
    if (!errors.length && !this.routingKeys.includes(body.routing_key!)) errors.push('Invalid routing key');
    if (errors.length) return reply(400, { status: 'invalid event', message: 'Event object is invalid', errors }, {}, body.event_action);

    const event = { ...body, dedup_key: body.dedup_key ?? `${Date.now()}${this.events.length}` } as PagerDutyEvent;
    this.events.push(event);
    this.apply(event);
    return reply(202, { status: 'success', message: 'Event processed', dedup_key: event.dedup_key }, {}, event.event_action);
  }

  private apply(event: PagerDutyEvent) {
    let alert = this.alerts.get(event.dedup_key);
    if (event.event_action === 'trigger') {
      if (!alert) {
        alert = { dedupKey: event.dedup_key, status: 'triggered', incidents: 1, events: [] };
        this.alerts.set(event.dedup_key, alert);
      } else if (alert.status === 'resolved') {
        alert.status = 'triggered';
        alert.incidents++;
      }
    } else if (alert && alert.status !== 'resolved') {
      // acknowledge or resolve of a key PagerDuty does not know is accepted and does nothing.
      alert.status = event.event_action === 'resolve' ? 'resolved' : 'acknowledged';
    }
    alert?.events.push(event);
  }
}

/** The checks the Events API makes, with its messages. */
function validate(e: Partial<PagerDutyEvent>): string[] {
  const errors: string[] = [];
  if (typeof e.routing_key !== 'string' || !e.routing_key) errors.push("'routing_key' is missing or blank");
  else {
    if (e.routing_key.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    if (!/^[A-Za-z0-9]+$/.test(e.routing_key)) errors.push("'routing_key' cannot contain non-alphanumeric characters.");
  }
  if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action as string)) {
    errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
  }
  if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255))
    errors.push("'dedup_key' is invalid (must be a string of at most 255 characters)");
  if (e.event_action !== 'trigger') {
    if (!e.dedup_key) errors.push("'dedup_key' is missing or blank");
    return errors;
  }
  const p = e.payload;
  if (!p || typeof p !== 'object') return [...errors, "'payload' is missing or blank"];
  if (typeof p.summary !== 'string' || !p.summary.trim()) errors.push("'payload.summary' is missing or blank");
  else if (p.summary.length > 1024) errors.push("'payload.summary' is too long (maximum is 1024 characters)");
  if (typeof p.source !== 'string' || !p.source.trim()) errors.push("'payload.source' is missing or blank");
  if (!SEVERITIES.includes(p.severity as string)) {
    errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
  }
  if (p.timestamp !== undefined && Number.isNaN(Date.parse(String(p.timestamp)))) errors.push("'payload.timestamp' is invalid");
  for (const link of e.links ?? []) if (typeof link?.href !== 'string') errors.push("'links.href' is missing or blank");
  return errors;
}

/** A one-day self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI. */
function selfSignedCertificate(dir: string): { key: string; cert: string; caFile: string } {
  const keyFile = join(dir, 'key.pem');
  const caFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(`the PagerDuty emulator needs the openssl CLI to make its TLS certificate (pdjs speaks only https): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(caFile, 'utf8'), caFile };
}
