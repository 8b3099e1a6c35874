import { describe, expect, it } from 'vitest';
import { MatcherSyntaxError, matches, parseMatcher } from './matcher';

const finding = {
  kind: 'vulnerability',
  severity: 'high',
  fixable: true,
  rule: { id: 'CVE-2021-44228' },
  workload: { namespace: 'prod-shop', name: 'checkout' },
  artifact: { repository: 'shop/checkout' },
  risk: { score: 72, reasons: [] },
};

describe('matchers', () => {
  it.each([
    ['kind = vulnerability', true],
    ['kind != vulnerability', false],
    ['severity >= high', true],
    ['severity > high', false],
    ['severity >= critical', false],
    ['severity < critical', true],
    ['severity <= medium', false],
    ['fixable = true', true],
    ['rule = CVE-2021-44228', true],
    ['workload.namespace =~ prod-.*', true],
    ['namespace =~ prod', false],
    ['namespace !~ (dev|test)-.*', true],
    ['risk >= 70', true],
    ['risk >= 80', false],
    ['image = "shop/checkout"', true],
    ['environment = ""', true],
    ['environment != production', true],
    ['code.repo =~ .+', false],
  ])('%s → %s', (text, expected) => {
    expect(matches(parseMatcher(text), finding)).toBe(expected);
  });

  it('reads a missing risk as 0', () => {
    expect(matches(parseMatcher('risk < 1'), { severity: 'low' })).toBe(true);
  });

  it.each([
    ['severity >= urgent', 'unknown level "urgent"'],
    ['severity', 'is not "field op value"'],
    ['rule =~ (', 'invalid regular expression'],
    ['risk >= high', 'compares severities or numbers'],
    ['rule =~ (?=CVE)CVE-.*', 'no lookaround or backreferences'],
    ['rule =~ (a)\\1', 'no lookaround or backreferences'],
  ])('rejects %s', (text, message) => {
    expect(() => parseMatcher(text)).toThrow(MatcherSyntaxError);
    expect(() => parseMatcher(text)).toThrow(message);
  });

  it('answers a pattern that backtracks exponentially in JavaScript on hostile text (RE2: linear time)', () => {
    // With a backtracking engine this one call would run for longer than the universe has existed.
    const hostile = { rule: { id: `${'a'.repeat(50_000)}!` } };
    expect(matches(parseMatcher('rule =~ (a+)+'), hostile)).toBe(false);
    expect(matches(parseMatcher('rule =~ (a|aa)+!'), hostile)).toBe(true);
  });
});
