import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formats, integrationFor, integrations } from '@klaxon/sources';
import { fixturesOf, hostileFrom, hostileValue } from '../support/hostile';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';

const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 300);
const SECRET = 'fuzz-secret';

/** How each sender proves itself, so that hostile bodies reach the parsers rather than stop at 401. */
function authenticate(name: string, body: Uint8Array): { headers: Record<string, string>; query: string } {
  switch (name) {
    case 'github':
      return { headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`, 'x-github-event': 'workflow_run' }, query: '' };
    case 'gitlab':
      return { headers: { 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Pipeline Hook' }, query: '' };
    case 'quay':
      return { headers: {}, query: `?token=${SECRET}` };
    case 'harbor':
      return { headers: { authorization: SECRET }, query: '' };
    default:
      return { headers: { authorization: `Bearer ${SECRET}` }, query: '' };
  }
}

const INTEGRATION_FORMAT: Record<string, string> = { falcosidekick: 'falco' };
const seeds = new Map([...formats(), ...integrations()].map((f) => [f, fixturesOf(INTEGRATION_FORMAT[f] ?? integrationFor(f)?.format({ headers: {}, raw: '' }) ?? f)]));

const invalidUtf8 = fc.uint8Array({ maxLength: 64 }).map((bytes) => new Uint8Array([0x7b, 0x22, 0xff, 0xc3, 0x28, ...bytes, 0xed, 0xa0, 0x80, 0x7d]));
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '', 'application/json; charset=latin1');
const contextValue = fc.oneof(fc.constantFrom('acme/shop', '1a2b3c4d5e', 'main', '42', 'sha256:' + 'a'.repeat(64)), hostileValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v ?? ''))));
const context = fc.dictionary(fc.constantFrom('repo', 'commit', 'branch', 'pr', 'image', 'digest', 'format', 'other'), contextValue, { maxKeys: 3 });

const request = fc.oneof(
  fc.record({
    path: fc.constant('/v1/reports'),
    format: fc.option(fc.constantFrom(...formats(), 'nope'), { nil: undefined }),
    context,
  }),
  fc.record({ path: fc.constantFrom(...integrations().map((i) => `/v1/webhooks/${i}`), '/v1/webhooks/unknown'), format: fc.constant(undefined), context: fc.constant({}) }),
);

const TEXT = new TextEncoder();

describe('HTTP intake under hostile input', () => {
  let klaxon: TestKlaxon;
  beforeAll(async () => {
    const sources = integrations()
      .map((name) => (name === 'github' ? `  github: { secret: ${SECRET} }` : name === 'harbor' ? `  harbor: { webhookAuth: ${SECRET} }` : `  ${name}: { token: ${SECRET} }`))
      .join('\n');
    klaxon = await startTestKlaxon(`server:\n  intakeRateLimit: { perMinute: 1000000 }\nsources:\n${sources}\nroutes: {}\n`);
  });
  afterAll(async () => klaxon?.close());

  it(`answers every hostile request with a 2xx or a 4xx in the API's error shape, never a 5xx (${RUNS} cases)`, async () => {
    let cases = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        request.chain((r) => {
          const name = r.path.startsWith('/v1/webhooks/') ? r.path.slice('/v1/webhooks/'.length) : (r.format ?? 'trivy');
          const own = seeds.get(name) ?? seeds.get('trivy')!;
          return fc.record({ r: fc.constant(r), name: fc.constant(name), body: fc.oneof({ weight: 4, arbitrary: hostileFrom(own).map((t) => TEXT.encode(t)) }, { weight: 1, arbitrary: invalidUtf8 }), type: contentType });
        }),
        async ({ r, name, body, type }) => {
          cases++;
          const auth = r.path.startsWith('/v1/webhooks/') ? authenticate(name, body) : { headers: { authorization: 'Bearer test-api-token' }, query: '' };
          const query = new URLSearchParams({ ...(r.format ? { format: r.format } : {}), ...r.context }).toString();
          const url = `${klaxon.url}${r.path}${auth.query || (query ? `?${query}` : '')}`;
          const res = await fetch(url, { method: 'POST', body, headers: { ...(type ? { 'content-type': type } : {}), ...auth.headers } });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const text = await res.text();
          expect(res.status, `${r.path} ${type}: ${text.slice(0, 200)}`).toBeLessThan(500);
          if (res.status >= 400) {
            const error = JSON.parse(text) as { error: unknown; message: unknown };
            expect(typeof error.error, text.slice(0, 200)).toBe('string');
            expect(typeof error.message, text.slice(0, 200)).toBe('string');
          }
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 0x6b6c78) || undefined },
    );
    expect(cases).toBe(RUNS);
    // Accepted and refused inputs both occur: the cases reach the parsers, not only the first checks.
    const accepted = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(RUNS);
  }, 120_000);
});
