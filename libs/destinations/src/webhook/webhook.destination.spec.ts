import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '@klaxon/platform';
import type { Notification } from '@klaxon/routing';
import { DestinationRejected, DestinationUnavailable } from '../destination';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signBody, WebhookDestination } from './webhook.destination';

const notification: Notification = {
  id: 'n-1',
  key: 'runtime/hook/prod-shop',
  route: 'runtime',
  destination: 'hook',
  groupLabels: { 'workload.namespace': 'prod-shop' },
  createdAt: '2026-11-25T10:05:00.000Z',
  seq: 1,
  changes: { new: [], regressed: [], resolved: [], open: [], told: { count: 2, bySeverity: { high: 2 }, fingerprints: ['a', 'b'] } },
};

/** A receiver whose next answers the test sets; it records what it was sent and on how many connections. */
class Receiver {
  readonly requests: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
  connections = 0;
  answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end();
  private server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests.push({ path: req.url ?? '', headers: req.headers, body });
        this.answer(res);
      });
    });
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('WebhookDestination against a receiver', () => {
  const receiver = new Receiver();
  let base: string;

  beforeAll(async () => {
    base = await receiver.start();
  });
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.answer = (res) => res.writeHead(204).end();
  });

  it('POSTs the notification signed, with its id as the idempotency key, on one kept-alive connection', async () => {
    const hook = new WebhookDestination({ type: 'webhook', url: `${base}/klaxon`, secret: 's3cret', headers: { 'x-team': 'shop' } });
    const before = receiver.connections;
    const entry = await hook.send(notification, undefined);
    await hook.send({ ...notification, id: 'n-2' }, entry);
    expect(entry).toMatchObject({ ref: notification.key, lastNotificationId: 'n-1', status: 'open' });
    const [first] = receiver.requests;
    expect(first!.path).toBe('/klaxon');
    expect(first!.headers[IDEMPOTENCY_HEADER]).toBe('n-1');
    expect(first!.headers['x-team']).toBe('shop');
    expect(first!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first!.headers[SIGNATURE_HEADER]).toBe(signBody(first!.body, 's3cret'));
    expect(JSON.parse(first!.body)).toMatchObject({ type: 'klaxon.notification', version: 1, status: 'open', notification: { id: 'n-1' } });
    expect(receiver.connections - before).toBe(1);
  });

  it('waits as a 429 says, retries a 5xx, refuses a 4xx with the body as detail', async () => {
    const hook = new WebhookDestination({ type: 'webhook', url: `${base}/klaxon` });
    receiver.answer = (res) => res.writeHead(429, { 'retry-after': '7' }).end();
    await expect(hook.send(notification, undefined)).rejects.toEqual(expect.objectContaining({ name: 'RateLimited', retryAfterMs: 7_000 }));
    receiver.answer = (res) => res.writeHead(503).end('down for maintenance');
    await expect(hook.send(notification, undefined)).rejects.toThrow(DestinationUnavailable);
    receiver.answer = (res) => res.writeHead(401).end('bad signature\nfor hook');
    const refused = hook.send(notification, undefined);
    await expect(refused).rejects.toThrow(DestinationRejected);
    await expect(refused).rejects.toThrow('webhook: HTTP 401 bad signature for hook');
  });

  it('follows no redirect: the receiver moved is a refusal, not a POST to wherever it points', async () => {
    const hook = new WebhookDestination({ type: 'webhook', url: `${base}/old` });
    receiver.answer = (res) => res.writeHead(307, { location: `${base}/elsewhere` }).end();
    await expect(hook.send(notification, undefined)).rejects.toThrow('webhook: HTTP 307');
    expect(receiver.requests.map((r) => r.path)).toEqual(['/old']);
  });

  it('a receiver that is not there is a transient failure naming the error', async () => {
    const hook = new WebhookDestination({ type: 'webhook', url: `http://127.0.0.1:${await freePort()}/klaxon` });
    const failed = hook.send(notification, undefined);
    await expect(failed).rejects.toThrow(DestinationUnavailable);
    await expect(failed).rejects.toThrow('ECONNREFUSED');
  });
});
