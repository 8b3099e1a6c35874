import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchSchema } from '@klaxon/findings';
import { fixturesOf, hostileFrom } from '../../../test/support/hostile';
import { PARSERS } from './registry';
import { IgnoredInput, ParseError, type SourceMeta } from './source';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const meta: SourceMeta = { eventId: 'fuzz', receivedAt: '2026-01-01T00:00:00.000Z', integration: 'fuzz', context: { repo: 'acme/shop' } };

/**
 * Every parser, fed hostile mutations of its own real fixtures (wrong types per field, removed fields,
 * huge strings, lone surrogates and controls, deep nesting, duplicate keys, truncation): it returns a
 * batch or throws its typed errors (ParseError, or IgnoredInput for a well-formed body it does not
 * read), never anything else. Each case is bounded by the test timeout. A batch it returns is already
 * what the finding model's schema makes of it (no stray field, no default left to fill): the pipeline
 * takes a parser's batch as it is, without validating it again.
 */
/** JSON's view of a batch (what is stored and sent): a field set to undefined is no field. */
const withoutUndefined = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe.each(PARSERS.map((p) => [p.format, p] as const))('%s parser on hostile input', (format, parser) => {
  const seeds = fixturesOf(format);

  it(`throws nothing but ParseError (${RUNS} cases)`, () => {
    let cases = 0;
    fc.assert(
      fc.property(hostileFrom(seeds), (raw) => {
        cases++;
        try {
          const batch = parser.parse(raw, meta);
          expect(withoutUndefined(batchSchema.parse(batch))).toStrictEqual(withoutUndefined(batch));
        } catch (err) {
          if (!(err instanceof ParseError || err instanceof IgnoredInput)) throw err;
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 0x6b6c78) || undefined },
    );
    expect(cases).toBeGreaterThanOrEqual(RUNS);
  });
});

it('every parser returns, for each fixture it reads, a batch the finding model takes as it is', () => {
  let batches = 0;
  for (const parser of PARSERS) {
    for (const raw of fixturesOf(parser.format)) {
      let batch;
      try {
        batch = parser.parse(raw, meta);
      } catch (err) {
        if (err instanceof ParseError || err instanceof IgnoredInput) continue;
        throw err;
      }
      expect(withoutUndefined(batchSchema.parse(batch)), `${parser.format}`).toStrictEqual(withoutUndefined(batch));
      batches++;
    }
  }
  expect(batches).toBeGreaterThan(20);
});
