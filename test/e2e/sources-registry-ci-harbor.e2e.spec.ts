import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarborEmulator, ROBOT_PASSWORD, ROBOT_USERNAME } from '../emulators/harbor.emulator';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (name: string) => readFileSync(resolve(__dirname, '../fixtures/harbor', name), 'utf8');
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const WEBHOOK_AUTH = 'Bearer harbor-hook-secret';

describe('Harbor: scan webhook in, full report pulled from Harbor, findings stored', () => {
  let harbor: HarborEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    harbor = await HarborEmulator.start();
    harbor.setReport('shop', 'shop/checkout', DIGEST, JSON.parse(fixture('report-checkout.json')));
    klaxon = await startTestKlaxon(`
sources:
  harbor:
    url: ${harbor.url}
    username: "${ROBOT_USERNAME}"
    password: ${ROBOT_PASSWORD}
    webhookAuth: ${WEBHOOK_AUTH}
routes:
  groupBy: [artifact.repository]
`);
  });
  afterAll(async () => {
    await klaxon?.close();
    await harbor?.stop();
  });

  const eventOf = async (id: string) => {
    const res = await klaxon.api(`/v1/events/${id}`);
    return res.status === 200 ? ((await res.json()) as Record<string, any>) : undefined;
  };
  const post = (body: string, headers: Record<string, string> = { authorization: WEBHOOK_AUTH }) =>
    fetch(`${klaxon.url}/v1/webhooks/harbor`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  /** The collector stores the pulled report as an event of its own, named after the webhook's. */
  const reportEventOf = (eventId: string) => `${eventId}-harbor-${DIGEST.slice(7, 19)}`;

  it('pulls the report on SCANNING_COMPLETED and stores its findings under the pulled event', async () => {
    const res = await post(fixture('scanning-completed.json'));
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };

    const report = await waitFor(async () => {
      const e = await eventOf(reportEventOf(eventId));
      return e?.status === 'routed' || e?.status === 'triaged' ? e : undefined;
    }, 'the pulled report to be triaged');
    expect(report).toMatchObject({
      integration: 'collector:harbor',
      format: 'harbor-report',
      context: { digest: DIGEST, image: 'harbor.example.com/shop/checkout:1.4.2', pulledFor: eventId },
      parsed: { format: 'harbor-report', findings: 9, scopes: 1 },
    });
    expect(report.triage.new).toBe(9);

    const webhook = await eventOf(eventId);
    expect(webhook).toMatchObject({ format: 'harbor', parsed: { findings: 0, assets: 1 } });
    const pull = harbor.requests.find((r) => r.status === 200)!;
    expect(pull).toMatchObject({ project: 'shop', repository: 'checkout', reference: DIGEST, username: ROBOT_USERNAME });
  });

  it('reads the CloudEvents format the same way, and resolves what a newer empty report lacks', async () => {
    harbor.setReport('shop', 'shop/checkout', DIGEST, JSON.parse(fixture('report-empty.json')));
    const res = await post(fixture('scanning-completed.cloudevents.json'), { authorization: WEBHOOK_AUTH, 'content-type': 'application/cloudevents+json' });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const report = await waitFor(async () => {
      const e = await eventOf(reportEventOf(eventId));
      return e?.triage ? e : undefined;
    }, 'the empty report to be triaged');
    expect(report.parsed.findings).toBe(0);
    expect(report.triage.resolved).toBe(9);

    // Harbor retries a webhook job with the same CloudEvent id: acknowledged, not pulled again.
    const again = await post(fixture('scanning-completed.cloudevents.json'), { authorization: WEBHOOK_AUTH, 'content-type': 'application/cloudevents+json' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ eventId, duplicate: true });
  });

  it('records pushes as assets without pulling anything', async () => {
    const before = harbor.requests.length;
    const res = await post(fixture('push-artifact.cloudevents.json'), { authorization: WEBHOOK_AUTH, 'content-type': 'application/cloudevents+json' });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const event = await waitFor(async () => ((await eventOf(eventId))?.parsed ? eventOf(eventId) : undefined), 'the push to be parsed');
    expect(event!.parsed).toMatchObject({ findings: 0, assets: 1 });
    expect(harbor.requests.length).toBe(before);
  });

  it('refuses a wrong Authorization header with 401 naming the config key', async () => {
    const res = await post(fixture('scanning-completed.json'), { authorization: 'Bearer nope' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorized', field: 'authorization', message: expect.stringContaining('sources.harbor.webhookAuth') });
  });

  it('acknowledges an event type it does not read with 202 and counts it', async () => {
    const res = await post(fixture('pull-artifact.json'));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { eventId: string; ignored: string };
    expect(body.ignored).toMatch(/PULL_ARTIFACT/);
    expect((await eventOf(body.eventId))!.status).toBe('ignored');
    const metrics = await (await fetch(`${klaxon.url}/metrics`)).text();
    expect(metrics).toMatch(/klaxon_inputs_total\{integration="webhook:harbor",outcome="ignored"\} [1-9]/);
  });

  it('rejects a payload without a digest with 422 naming the field, and quarantines it', async () => {
    const res = await post(fixture('missing-digest.json'));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { field: string; eventId: string; quarantined: boolean };
    expect(body).toMatchObject({ field: 'event_data.resources[0].digest', quarantined: true });
    const quarantine = (await (await klaxon.api('/v1/quarantine')).json()) as { items: { id: string }[] };
    expect(quarantine.items.map((e) => e.id)).toContain(body.eventId);
  });

  it('quarantines a pulled report that does not parse, at intake, naming the field', async () => {
    const broken = 'sha256:' + '2'.repeat(64);
    harbor.setReport('shop', 'shop/checkout', broken, JSON.parse(fixture('report-missing-package.json')));
    const payload = JSON.parse(fixture('scanning-completed.json'));
    payload.event_data.resources[0].digest = broken;
    const res = await post(JSON.stringify(payload));
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    const reportEventId = `${eventId}-harbor-${broken.slice(7, 19)}`;

    const quarantined = await waitFor(async () => {
      const list = (await (await klaxon.api('/v1/quarantine')).json()) as { items: { id: string; integration: string; error?: { path?: string } }[] };
      return list.items.find((e) => e.id === reportEventId);
    }, 'the pulled report in quarantine');
    expect(quarantined).toMatchObject({
      integration: 'collector:harbor',
      error: { path: 'application/vnd.security.vulnerability.report; version=1.1.vulnerabilities[0].package' },
    });
    expect((await eventOf(reportEventId))!.status).toBe('quarantined');
    // Caught by the intake check, not later by ingest: counted as a quarantined input of the collector.
    const metrics = await (await fetch(`${klaxon.url}/metrics`)).text();
    expect(metrics).toMatch(/klaxon_inputs_total\{integration="collector:harbor",outcome="quarantined"\} 1\b/);
  });

  it('dead-letters the pull with the reason when Harbor has no such artifact', async () => {
    const payload = JSON.parse(fixture('scanning-completed.json'));
    const other = 'sha256:' + '1'.repeat(64);
    payload.event_data.resources[0].digest = other;
    const res = await post(JSON.stringify(payload));
    const { eventId } = (await res.json()) as { eventId: string };
    const letter = await waitFor(async () => {
      const list = (await (await klaxon.api('/v1/dead-letters')).json()) as { items: { data: { eventId: string }; error: { message: string } }[] };
      return list.items.find((l) => l.data.eventId === eventId);
    }, 'the dead letter');
    expect(letter.error.message).toMatch(/404/);
  });
});
