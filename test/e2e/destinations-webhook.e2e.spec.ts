import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody, type WebhookPayload } from '@klaxon/destinations';
import { WebhookEmulator } from '../emulators/webhook.emulator';
import { checkoutReport, deadLetterOf, emptyReport, postReport, regressedReport, replay } from '../support/destinations';
import { startTestKlaxon, withTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { testPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const report = checkoutReport;
const SECRET = 'webhook-shared-secret';

const config = (hook: WebhookEmulator, secret = SECRET) => `
server:
  maxBodyBytes: 2097152
destinations:
  hook:
    type: webhook
    url: ${hook.url}
    secret: ${secret}
    headers:
      x-tenant: shop
routes:
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1d
  to: [hook]
  groupBy: [artifact.repository]
`;

const payloads = (hook: WebhookEmulator) => hook.processed().map((d) => d.body as WebhookPayload);

describe('generic webhook through the running app', () => {
  let hook: WebhookEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    hook = await WebhookEmulator.start({ secret: SECRET });
    klaxon = await startTestKlaxon(config(hook));
  });
  afterAll(async () => {
    await klaxon?.close();
    await hook?.stop();
  });

  it('POSTs the notification signed with HMAC-SHA256 and its id as the idempotency key', async () => {
    await postReport(klaxon, report);

    const [delivery] = await waitFor(() => (hook.deliveries.length ? hook.deliveries : undefined), 'the webhook');
    const body = delivery!.body as WebhookPayload;
    expect(body).toMatchObject({ type: 'klaxon.notification', version: 1, status: 'open' });
    expect(body.notification.changes.new.length).toBeGreaterThan(0);
    expect(delivery!.headers['x-klaxon-signature-256']).toBe(signBody(delivery!.raw, SECRET));
    expect(delivery!.headers['idempotency-key']).toBe(body.notification.id);
    expect(delivery!.headers['x-tenant']).toBe('shop');
  });

  it('sends the resolution and the regression under the same notification key', async () => {
    await postReport(klaxon, emptyReport);
    await waitFor(() => payloads(hook).some((p) => p.status === 'resolved'), 'the resolution', 30_000);
    await postReport(klaxon, regressedReport);
    await waitFor(() => payloads(hook).some((p) => p.notification.changes.regressed.length > 0), 'the regression', 30_000);

    const sent = payloads(hook);
    expect(sent.map((p) => p.status)).toEqual(['open', 'resolved', 'open']);
    expect(new Set(sent.map((p) => p.notification.key)).size).toBe(1);
    expect(new Set(sent.map((p) => p.notification.id)).size).toBe(3);
  });
});

describe('webhook delivery failures', () => {
  let hook: WebhookEmulator;

  beforeAll(async () => {
    hook = await WebhookEmulator.start({ secret: SECRET });
  });
  afterAll(async () => {
    await hook?.stop();
  });

  it('retries 429 and 503 with the same idempotency key, processed once', async () => {
    hook.failNext(1, { status: 429, retryAfter: 1 });
    hook.failNext(2, { status: 503 });
    await withTestKlaxon(config(hook), async (klaxon) => {
      await postReport(klaxon, report);
      await waitFor(() => hook.processed().length === 1, 'the delivery after the faults', 30_000);
      expect(hook.calls.map((c) => c.status)).toEqual([429, 503, 503, 202]);
      expect(new Set(hook.calls.map((c) => c.idempotencyKey)).size).toBe(1);
    });
  });

  it('dead-letters a wrong secret (401) and delivers on replay once it is fixed', async () => {
    hook.reset();
    const prefix = testPrefix('e2e-hook-dlq');
    const letterId = await withTestKlaxon(
      config(hook, 'not-the-secret'),
      async (broken) => {
        await postReport(broken, report);
        const letter = await deadLetterOf(broken, 'deliver.hook');
        expect(letter.error.message).toContain('webhook: HTTP 401');
        return letter.id;
      },
      { prefix },
    );
    await withTestKlaxon(
      config(hook),
      async (fixed) => {
        await replay(fixed, letterId);
        await waitFor(() => hook.processed().length === 1, 'the delivery after replay', 30_000);
      },
      { prefix },
    );
  });
});
