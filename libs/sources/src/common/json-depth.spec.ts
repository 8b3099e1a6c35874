import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-depth';

/** The definition, one character at a time: inside a string a backslash escapes the next character. */
function reference(raw: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return true;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return false;
}

describe('nesting depth of JSON text', () => {
  it.each([
    ['[[[1]]]', 3, false],
    ['[[[[1]]]]', 3, true],
    ['{"a":{"b":{"c":{}}}}', 3, true],
    ['{"a":"[[[[[[[[","b":"\\"[[[["}', 1, false],
    ['{"a":1}\n{"b":[2]}\n', 2, false],
    ['[[[[ not json', 3, true],
  ])('%s deeper than %i: %s', (text, limit, expected) => {
    expect(nestsDeeperThan(text, limit)).toBe(expected);
  });

  it('answers as the character-by-character definition for any text of brackets, quotes and backslashes', () => {
    const text = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ',', ':', '\n'), maxLength: 80 });
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 6 }), (raw, limit) => {
        expect(nestsDeeperThan(raw, limit)).toBe(reference(raw, limit));
      }),
      { numRuns: 5000 },
    );
  });

  it('answers as the definition for any JSON value and its text nested in brackets', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
        const raw = JSON.stringify(value);
        expect(nestsDeeperThan(raw, limit)).toBe(reference(raw, limit));
      }),
      { numRuns: 1000 },
    );
  });
});
