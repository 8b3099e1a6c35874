import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-depth';

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
});
