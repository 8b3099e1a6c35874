import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_KEY, PagerDutyEmulator } from './pagerduty.emulator';

let pd: PagerDutyEmulator;
let agent: Agent;

function enqueue(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(pd.eventsUrl, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const trigger = (over: Record<string, unknown> = {}) => ({
  routing_key: DEFAULT_ROUTING_KEY,
  event_action: 'trigger',
  dedup_key: 'klaxon/x',
  payload: { summary: 'shell in checkout', source: 'prod-shop/checkout', severity: 'critical' },
  ...over,
});

beforeAll(async () => {
  pd = await PagerDutyEmulator.start();
  agent = new Agent({ ca: readFileSync(pd.caFile) });
});
afterAll(async () => {
  await pd.stop();
});
beforeEach(() => pd.reset());

describe('PagerDutyEmulator', () => {
  it('serves https with a certificate a client can trust through caFile', async () => {
    const res = await enqueue(trigger());

    expect(res).toEqual({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: 'klaxon/x' } });
  });

  it('answers 400 invalid event with every problem listed', async () => {
    const res = await enqueue(trigger({ routing_key: 'short-key', payload: { summary: 'x'.repeat(1025), severity: 'urgent' } }));

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'invalid event', message: 'Event object is invalid' });
    expect(res.body.errors).toEqual([
      "Length of 'routing_key' is incorrect (should be 32 characters)",
      "'routing_key' cannot contain non-alphanumeric characters.",
      "'payload.summary' is too long (maximum is 1024 characters)",
      "'payload.source' is missing or blank",
      "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
    ]);
  });

  it('keeps one alert per dedup_key: a trigger after a resolve is a new incident', async () => {
    await enqueue(trigger());
    await enqueue({ routing_key: DEFAULT_ROUTING_KEY, event_action: 'resolve', dedup_key: 'klaxon/x' });
    await enqueue(trigger());

    expect(pd.alert('klaxon/x')).toMatchObject({ status: 'triggered', incidents: 2 });
    expect((await enqueue({ routing_key: DEFAULT_ROUTING_KEY, event_action: 'resolve' })).status).toBe(400);
  });

  it('answers 429 when told to', async () => {
    pd.failNext(1, { status: 429 });

    expect((await enqueue(trigger())).status).toBe(429);
    expect(pd.events).toEqual([]);
  });
});
