import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '@klaxon/destinations';
import { WebhookEmulator } from './webhook.emulator';

let hook: WebhookEmulator;
const send = (body: string, headers: Record<string, string>) =>
  fetch(hook.url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

beforeAll(async () => {
  hook = await WebhookEmulator.start({ secret: 's3cret' });
});
afterAll(async () => {
  await hook.stop();
});

describe('WebhookEmulator', () => {
  it('accepts a correctly signed body and refuses another signature with 401', async () => {
    const body = JSON.stringify({ hello: 'world' });

    expect((await send(body, { 'x-klaxon-signature-256': signBody(body, 's3cret'), 'idempotency-key': 'n-1' })).status).toBe(202);
    expect((await send(body, { 'x-klaxon-signature-256': signBody(body, 'other'), 'idempotency-key': 'n-2' })).status).toBe(401);
    expect((await send(`${body} `, { 'x-klaxon-signature-256': signBody(body, 's3cret'), 'idempotency-key': 'n-3' })).status).toBe(401);
  });

  it('processes a repeated idempotency key once', async () => {
    hook.reset();
    const body = '{"a":1}';
    const headers = { 'x-klaxon-signature-256': signBody(body, 's3cret'), 'idempotency-key': 'n-9' };

    await send(body, headers);
    const again = await send(body, headers);

    expect(await again.json()).toEqual({ accepted: true, duplicate: true });
    expect(hook.processed()).toHaveLength(1);
    expect(hook.deliveries).toHaveLength(2);
  });
});
