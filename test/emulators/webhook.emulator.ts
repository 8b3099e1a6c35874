import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver as a careful one is written: it checks `X-Klaxon-Signature-256` (HMAC-SHA256 of
 * the raw body, `sha256=<hex>`) and answers 401 when it does not match, and treats a repeated
 * `Idempotency-Key` as the same delivery (accepted, not processed twice).
 */

export interface WebhookDelivery {
  headers: Record<string, string>;
  body: unknown;
  raw: string;
  /** First time this idempotency key was seen. */
  processed: boolean;
}

export type WebhookFault = { status: 429; retryAfter?: number } | { status: 400 | 401 | 404 | 500 | 502 | 503 };

export class WebhookEmulator {
  /** Accepted deliveries, repeats included (`processed: false`). */
  readonly deliveries: WebhookDelivery[] = [];
  /** Every request with the status it got. */
  readonly calls: Array<{ status: number; idempotencyKey?: string }> = [];
  private faults: WebhookFault[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly secret: string | undefined,
  ) {}

  static async start(opts: { secret?: string; path?: string } = {}): Promise<WebhookEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emulator = new WebhookEmulator(server, `http://127.0.0.1:${port}${opts.path ?? '/hooks/klaxon'}`, opts.secret);
    server.on('request', (req, res) => void emulator.handle(req, res));
    return emulator;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  failNext(n: number, fault: WebhookFault): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  reset(): void {
    this.deliveries.length = 0;
    this.calls.length = 0;
    this.faults = [];
  }

  /** Deliveries the receiver acted on (first time per idempotency key). */
  processed(): WebhookDelivery[] {
    return this.deliveries.filter((d) => d.processed);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const idempotencyKey = headers['idempotency-key'];
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      this.calls.push({ status, idempotencyKey });
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify(body));
    };

    const fault = this.faults.shift();
    if (fault) {
      const retry: Record<string, string> = fault.status === 429 && fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      return reply(fault.status, { error: `fault ${fault.status}` }, retry);
    }
    if (req.method !== 'POST' || new URL(this.url).pathname !== new URL(req.url ?? '/', this.url).pathname) {
      return reply(404, { error: 'not found' });
    }
    if (this.secret && !validSignature(raw, headers['x-klaxon-signature-256'], this.secret)) {
      return reply(401, { error: 'signature mismatch' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return reply(400, { error: 'body is not JSON' });
    }
    const processed = !idempotencyKey || !this.deliveries.some((d) => d.headers['idempotency-key'] === idempotencyKey);
    this.deliveries.push({ headers, body, raw, processed });
    return reply(202, { accepted: true, duplicate: !processed });
  }
}

function validSignature(raw: string, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
