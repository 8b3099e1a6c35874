import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { ParseError, type SourceMeta } from '../source';

/** Fixture text from test/fixtures/<dir>/<name>. */
export const fixture = (dir: string, name: string) => readFileSync(resolve(__dirname, '../../../../test/fixtures', dir, name), 'utf8');

export const meta = (context: Record<string, unknown> = {}, integration = 'report'): SourceMeta => ({
  eventId: 'evt-1',
  receivedAt: '2026-11-23T10:00:00.000Z',
  integration,
  context,
});

export function parseError(run: () => unknown): ParseError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    return err as ParseError;
  }
  throw new Error('expected a ParseError');
}

export const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
