import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';

const trivy = readFileSync(resolve(__dirname, '../fixtures/trivy/image-checkout.json'), 'utf8');
const FALCO_TOKEN = 'falco-hook-token';

describe('intake hygiene: what the edge refuses before anything is stored', () => {
  let klaxon: TestKlaxon;
  beforeAll(async () => {
    klaxon = await startTestKlaxon(`
server:
  maxFindingsPerInput: 20
  intakeRateLimit: { perMinute: 1000, sources: { tetragon: 3 } }
sources:
  falco: { token: ${FALCO_TOKEN} }
  tetragon: { allowUnauthenticated: true }
routes: {}
`);
  });
  afterAll(async () => klaxon?.close());

  const upload = (body: string, query = '') =>
    klaxon.api(`/v1/reports?format=trivy${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const quarantined = async () => ((await (await klaxon.api('/v1/quarantine')).json()) as { total: number }).total;

  it('refuses control characters in the build context and in identifiers inside the report, naming the field', async () => {
    for (const [query, field] of [
      ['&image=shop/checkout%0Aother', 'image'],
      ['&branch=main%00', 'branch'],
    ]) {
      const res = await upload(trivy, query);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'bad_request', field });
    }
    const hostile = trivy.replaceAll('harbor.example.com/shop/checkout', 'harbor.example.com/shop/checkout\\nresolved');
    const res = await upload(hostile);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_request', field: expect.stringMatching(/^findings\[0\]\.artifact\.repository$/) });
  });

  it('refuses JSON nested deeper than 64 levels with a 400, on reports and webhooks, without quarantining it', async () => {
    const before = await quarantined();
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const report = await upload(deep);
    expect(report.status).toBe(400);
    expect(await report.json()).toMatchObject({ error: 'bad_request', field: 'body', message: expect.stringContaining('64') });
    const webhook = await fetch(`${klaxon.url}/v1/webhooks/falco`, {
      method: 'POST',
      body: `{"output":"x","rule":"r","priority":"Notice","time":"2024-01-01T00:00:00Z","output_fields":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${FALCO_TOKEN}` },
    });
    expect(webhook.status).toBe(400);
    expect(await webhook.json()).toMatchObject({ error: 'bad_request', field: 'body' });
    expect(await quarantined()).toBe(before);
  });

  it('refuses an input with more findings than server.maxFindingsPerInput with a 413 naming findings', async () => {
    const res = await upload(trivy);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large', field: 'findings', message: expect.stringContaining('maxFindingsPerInput') });
  });

  it('limits each source to its own budget: 429 with Retry-After, other sources unaffected', async () => {
    const tetragon = () =>
      fetch(`${klaxon.url}/v1/webhooks/tetragon`, { method: 'POST', body: '{"process_exit":{}}', headers: { 'content-type': 'application/json' } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await tetragon()).status);
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    const limited = await tetragon();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited', field: 'source', message: expect.stringContaining('tetragon') });
    // Counted in Redis under the source's name, for the window only.
    const { redis, prefix } = klaxon.runtime;
    expect(await redis.keys(`${prefix}:rate-limit:*`)).toEqual(expect.arrayContaining([`${prefix}:rate-limit:tetragon`, `${prefix}:rate-limit:reports`]));
    expect(await redis.get(`${prefix}:rate-limit:tetragon`)).toBe('5');
    const left = await redis.pttl(`${prefix}:rate-limit:tetragon`);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(60_000);
    expect((await upload('{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}')).status).toBe(202);
  });
});
