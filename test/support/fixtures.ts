import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ParseError, type SourceMeta } from '@klaxon/sources';
import { expect } from 'vitest';

/** Fixture text from test/fixtures/<dir>/<name> (see test/fixtures/universe.md for what they describe). */
export const fixture = (dir: string, name: string): string => readFileSync(resolve(__dirname, '../fixtures', dir, name), 'utf8');

/** The shared test universe's manifest digest of harbor.example.com/shop/checkout:1.4.2. */
export const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

/** A parser's meta for one upload: the same event id and receive time unless a spec names its own. */
export const meta = (context: Record<string, unknown> = {}, integration = 'report'): SourceMeta => ({
  eventId: 'evt-1',
  receivedAt: '2026-11-23T10:00:00.000Z',
  integration,
  context,
});

/** The ParseError `run` throws (fails the test when it throws anything else, or nothing). */
export function parseError(run: () => unknown): ParseError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    return err as ParseError;
  }
  throw new Error('expected a ParseError');
}
