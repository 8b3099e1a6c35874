import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findingJson, withState } from './finding-json';
import type { Finding, FindingState } from './model';

const states: FindingState[] = ['open', 'resolved', 'suppressed'];

describe('a finding’s JSON, serialized once', () => {
  // Any object a parser could make: its fields in any order, values of every JSON kind, undefined ones
  // (which JSON leaves out), and sometimes a `state` key already there with no value.
  const finding = fc
    .tuple(
      fc.dictionary(
        fc.string().filter((k) => k !== 'state' && k !== '__proto__'),
        fc.oneof(fc.jsonValue(), fc.constant(undefined)),
      ),
      fc.boolean(),
      fc.string(),
    )
    .map(([fields, ownState, fingerprint]) => ({ fingerprint, ...(ownState && { state: undefined }), ...fields }) as unknown as Finding);

  it('is what JSON.stringify gives, for the finding and for its copy with a state, known first or not', () => {
    fc.assert(
      fc.property(finding, fc.constantFrom(...states), fc.boolean(), (f, state, knownFirst) => {
        if (knownFirst) expect(findingJson(f)).toBe(JSON.stringify(f));
        const copy = withState(f, state);
        expect(copy).toEqual({ ...f, state });
        expect(findingJson(copy)).toBe(JSON.stringify({ ...f, state }));
        expect(findingJson(f)).toBe(JSON.stringify(f));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives a finding that already has a state its new one', () => {
    const f = { fingerprint: 'fp-1', title: 'CVE-2024-10001 in openssl', state: 'resolved' } as Finding;
    findingJson(f);
    expect(findingJson(withState(f, 'open'))).toBe('{"fingerprint":"fp-1","title":"CVE-2024-10001 in openssl","state":"open"}');
  });
});
