import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN, SlackEmulator } from '../emulators/slack.emulator';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (name: string) => readFileSync(resolve(__dirname, '../fixtures/trivy', name), 'utf8');
const report = fixture('image-checkout.json');

/** Counted from the fixture itself: vulnerabilities, failed misconfigurations and secrets. */
function expectedCounts() {
  type Item = { Severity: string; Status?: string; VulnerabilityID?: string; PkgName?: string; ID?: string; RuleID?: string };
  const doc = JSON.parse(report) as { Results: { Vulnerabilities?: Item[] | null; Misconfigurations?: Item[] | null; Secrets?: Item[] | null }[] };
  const items = doc.Results.flatMap((r) => [
    ...(r.Vulnerabilities ?? []),
    ...(r.Misconfigurations ?? []).filter((m) => m.Status === 'FAIL'),
    ...(r.Secrets ?? []),
  ]);
  // The same CVE in the same package at two paths is one problem: one finding.
  const unique = new Set(items.map((i) => `${i.VulnerabilityID ?? i.ID ?? i.RuleID}|${i.PkgName ?? ''}`)).size;
  return { total: items.length, unique, critical: items.filter((v) => v.Severity === 'CRITICAL').length };
}

describe('a Trivy report in over HTTP, one Slack message out', () => {
  let slack: SlackEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    slack = await SlackEmulator.start();
    klaxon = await startTestKlaxon(`
server:
  maxBodyBytes: 2097152
destinations:
  slack-sec:
    type: slack
    token: ${DEFAULT_TOKEN}
    channel: "#sec-alerts"
    apiUrl: ${slack.url}
routes:
  to: [slack-sec]
  groupBy: [artifact.repository]
  groupWait: 0s
`);
  });
  afterAll(async () => {
    await klaxon?.close();
    await slack?.stop();
  });

  const eventOf = async (eventId: string) => (await (await klaxon.api(`/v1/events/${eventId}`)).json()) as Record<string, any>;

  it('accepts the report, stores it, and sends exactly one message with the right counts', async () => {
    const res = await klaxon.api('/v1/reports?format=trivy&repo=acme/checkout&pr=42', {
      method: 'POST',
      body: report,
      headers: { 'content-type': 'application/json', 'x-klaxon-commit': '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f' },
    });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    expect(eventId).toMatch(/^evt_/);

    const event = await waitFor(async () => {
      const e = await eventOf(eventId);
      return Object.keys(e.deliveries).length ? e : undefined;
    }, 'the delivery');
    const { total, unique, critical } = expectedCounts();
    expect(event.context).toMatchObject({ repo: 'acme/checkout', pr: 42, commit: '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f' });
    expect(event.parsed.format).toBe('trivy');
    expect(event.parsed.findings).toBe(total);
    expect(event.triage.new).toBe(unique);
    expect(event.routed).toEqual({ notifications: 1, destinations: ['slack-sec'] });

    expect(slack.messages).toHaveLength(1);
    const message = slack.messages[0];
    expect(message.channel).toBe('C0SECALERTS');
    expect(message.text).toContain('shop/checkout');
    expect(message.text).toContain(`${unique} new findings in shop/checkout: ${critical} critical`);
    expect(JSON.stringify(message.blocks)).toContain('→');
  });

  it('sends nothing more when the same report comes again', async () => {
    const res = await klaxon.api('/v1/reports?format=trivy', { method: 'POST', body: report, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const event = await waitFor(async () => {
      const e = await eventOf(eventId);
      return e.status === 'triaged' ? e : undefined;
    }, 'triage of the repost');
    expect(event.triage.new).toBe(0);
    expect(event.triage.unchanged).toBeGreaterThan(0);
    expect(slack.messages).toHaveLength(1);
  });

  it('rejects a broken report with 422 naming the problem, quarantines it, and sends nothing', async () => {
    const res = await klaxon.api('/v1/reports?format=trivy', { method: 'POST', body: fixture('broken.json'), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; message: string; eventId: string; quarantined: boolean };
    expect(body).toMatchObject({ error: 'parse_error', quarantined: true });
    expect(body.message).toMatch(/not valid JSON/);

    const quarantine = (await (await klaxon.api('/v1/quarantine')).json()) as { total: number; items: { id: string; error: { message: string } }[] };
    expect(quarantine.items.map((e) => e.id)).toContain(body.eventId);

    const missingId = await klaxon.api('/v1/reports?format=trivy', {
      method: 'POST',
      body: fixture('missing-id.json'),
      headers: { 'content-type': 'application/json' },
    });
    expect(missingId.status).toBe(422);
    expect(((await missingId.json()) as { field: string }).field).toBe('Results[0].Vulnerabilities[0].VulnerabilityID');
    expect(slack.messages).toHaveLength(1);
  });

  it('replays a quarantined input through ingest, where it is quarantined again while still broken', async () => {
    const res = await klaxon.api('/v1/reports?format=trivy', {
      method: 'POST',
      body: fixture('schema-v3.json'),
      headers: { 'content-type': 'application/json' },
    });
    const { eventId } = (await res.json()) as { eventId: string };
    const replay = await klaxon.api(`/v1/quarantine/${eventId}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    const event = await waitFor(async () => {
      const e = await eventOf(eventId);
      return e.status === 'quarantined' && e.replays === 1 ? e : undefined;
    }, 'the replay');
    expect(event.error.path).toBe('SchemaVersion');
    expect((await klaxon.api(`/v1/quarantine/evt_unknown/replay`, { method: 'POST' })).status).toBe(404);
  });

  it.each([
    ['no token', '/v1/reports?format=trivy', { authorization: 'Bearer wrong' }, report, 401, 'authorization'],
    ['an unknown format', '/v1/reports?format=nessus', {}, report, 400, 'format'],
    ['a bad pull request number', '/v1/reports?format=trivy&pr=abc', {}, report, 400, 'pr'],
    ['a bad digest header', '/v1/reports?format=trivy', { 'x-klaxon-digest': 'latest' }, report, 400, 'digest'],
    ['an empty body', '/v1/reports?format=trivy', {}, '', 400, 'body'],
  ])('answers %s with a JSON error naming the field', async (_name, path, headers, body, status, field) => {
    const res = await klaxon.api(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { field: string }).field).toBe(field);
  });

  it('answers 413 past the body limit and 415 for a type it does not read', async () => {
    const huge = await klaxon.api('/v1/reports?format=trivy', {
      method: 'POST',
      body: 'x'.repeat(3 * 1024 * 1024),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'payload_too_large', field: 'body', message: expect.stringMatching(/too large/i) });
    const xml = await klaxon.api('/v1/reports?format=trivy', { method: 'POST', body: '<x/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expect(await xml.json()).toMatchObject({ error: 'unsupported_media_type', field: 'content-type' });
  });

  it('serves health, readiness and metrics without a token', async () => {
    expect((await fetch(`${klaxon.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${klaxon.url}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${klaxon.url}/metrics`)).text();
    expect(metrics).toMatch(/klaxon_queue_jobs\{queue="ingest",state="completed"\} \d+/);
  });

  it('serves the OpenAPI document and the queue dashboard, the latter only with the token', async () => {
    const openapi = (await (await fetch(`${klaxon.url}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/reports', '/v1/events/{id}']));
    const denied = await fetch(`${klaxon.url}/queues/api/queues`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic/);
    const basic = Buffer.from(`ops:${klaxon.runtime.apiToken}`).toString('base64');
    const board = await fetch(`${klaxon.url}/queues/api/queues`, { headers: { authorization: `Basic ${basic}` } });
    expect(board.status).toBe(200);
    const { queues } = (await board.json()) as { queues: { name: string }[] };
    expect(queues.map((q) => q.name)).toEqual(expect.arrayContaining(['ingest', 'triage', 'route', 'deliver.slack-sec']));
  });
});
