import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzSourcesYaml, hostileRequest } from '../support/hostile-http';
import { API_TOKEN, startTestKlaxon, type TestKlaxon } from '../support/klaxon';

const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 300);

describe('HTTP intake under hostile input', () => {
  let klaxon: TestKlaxon;
  beforeAll(async () => {
    klaxon = await startTestKlaxon(`server:\n  intakeRateLimit: { perMinute: 1000000 }\nsources:\n${fuzzSourcesYaml()}\nroutes: {}\n`);
  });
  afterAll(async () => klaxon?.close());

  it(`answers every hostile request with a 2xx or a 4xx in the API's error shape, never a 5xx (${RUNS} cases)`, async () => {
    let cases = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(hostileRequest(API_TOKEN), async ({ path, init, label }) => {
        cases++;
        const res = await fetch(`${klaxon.url}${path}`, init);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        expect(res.status, `${label}: ${text.slice(0, 200)}`).toBeLessThan(500);
        if (res.status >= 400) {
          const error = JSON.parse(text) as { error: unknown; message: unknown };
          expect(typeof error.error, text.slice(0, 200)).toBe('string');
          expect(typeof error.message, text.slice(0, 200)).toBe('string');
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 0x6b6c78) || undefined },
    );
    expect(cases).toBe(RUNS);
    // Accepted and refused inputs both occur: the cases reach the parsers, not only the first checks.
    const accepted = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(RUNS);
  }, 120_000);
});
