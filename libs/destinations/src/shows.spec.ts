import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEVERITIES, toFinding, type Finding } from '@klaxon/findings';
import { listCount, shortenNotification, type Notification } from '@klaxon/routing';
import { parseConfig } from './config';
import { notificationFor } from './registry';
import { pagerdutyShows, renderTrigger } from './pagerduty/render';
import { renderSlack, slackShows } from './slack/render';

const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

/** One finding of the shared universe's image, with the traits the destinations sort and count by drawn at random. */
const findingArb = fc
  .record({
    n: fc.integer({ min: 0, max: 99_999 }),
    severity: fc.constantFrom(...SEVERITIES),
    score: fc.integer({ min: 0, max: 100 }),
    exploited: fc.boolean(),
    fixable: fc.boolean(),
    kind: fc.constantFrom('vulnerability' as const, 'misconfiguration' as const),
    pr: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  })
  .map(({ n, severity, score, exploited, fixable, kind, pr }): Finding =>
    toFinding({
      kind,
      stage: 'registry',
      source: { tool: 'trivy', integration: 'report' },
      title: `openssl: flaw ${n}`,
      severity,
      rule: { id: `CVE-2024-${n}`, exploited, references: [`https://avd.aquasec.com/nvd/cve-2024-${n}`] },
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', digest: DIGEST },
      package: { name: `pkg-${n}`, ecosystem: 'debian', installed: '1.0', fixed: fixable ? '1.1' : undefined },
      code: pr ? { repo: 'acme/shop', pullRequest: pr } : undefined,
      fixable,
      observedAt: '2026-11-25T10:00:00Z',
      risk: { score, reasons: [`+${score} drawn`] },
    }),
  );

/** Distinct findings (one fingerprint each), as a group's window holds them. */
const listArb = (max: number) => fc.uniqueArray(findingArb, { maxLength: max, selector: (f) => f.fingerprint });

const notificationArb = fc
  .record({ added: listArb(120), regressed: listArb(40), resolved: listArb(120), told: fc.nat(50) })
  .map(({ added, regressed, resolved, told }): Notification => ({
    id: 'n-1',
    key: 'images/slack-sec/shop/checkout',
    route: 'images',
    destination: 'slack-sec',
    groupLabels: { 'artifact.repository': 'shop/checkout' },
    createdAt: '2026-11-25T10:05:00.000Z',
    seq: 3,
    changes: {
      new: added,
      regressed: regressed.filter((f) => !added.some((a) => a.fingerprint === f.fingerprint)),
      resolved: resolved.filter((f) => !added.some((a) => a.fingerprint === f.fingerprint)),
      open: [],
      told: { count: told, bySeverity: told ? { medium: told } : {}, fingerprints: [] },
    },
  }));

describe('what a destination is sent of a notification', () => {
  it('a Slack message rendered from the records Slack is sent is the message of the whole notification', () => {
    fc.assert(
      fc.property(notificationArb, (whole) => {
        const sent = shortenNotification(whole, slackShows);
        expect(renderSlack(sent, { klaxonUrl: 'https://klaxon.example.com' })).toEqual(renderSlack(whole, { klaxonUrl: 'https://klaxon.example.com' }));
      }),
      { numRuns: 300 },
    );
  });

  it('a PagerDuty trigger rendered from the records PagerDuty is sent is the trigger of the whole notification', () => {
    fc.assert(
      fc.property(notificationArb, (whole) => {
        expect(renderTrigger(shortenNotification(whole, pagerdutyShows))).toEqual(renderTrigger(whole));
      }),
      { numRuns: 300 },
    );
  });

  it('counts every record left out, so each list keeps its size; a short list is sent whole', () => {
    fc.assert(
      fc.property(notificationArb, (whole) => {
        const sent = shortenNotification(whole, slackShows);
        for (const list of ['new', 'regressed', 'resolved'] as const) {
          expect(listCount(sent, list)).toBe(whole.changes[list].length);
          expect(sent.changes[list].every((f) => whole.changes[list].includes(f))).toBe(true);
        }
        if (SEVERITIES.every((s) => whole.changes.new.filter((f) => f.severity === s).length <= 20)) expect(sent.changes.new).toEqual(whole.changes.new);
      }),
      { numRuns: 200 },
    );
  });

  it('5,000 new findings reach Slack as 20 records per severity and counts, and reach a webhook whole', () => {
    // 5,000 drawn findings of distinct numbers, as one Trivy report of the shared image gives.
    const findings = fc.sample(findingArb, { numRuns: 5_000, seed: 7 }).map((f, i) => ({ ...f, fingerprint: `fp-${i}` }));
    const config = parseConfig(`
destinations:
  slack-sec: { type: slack, token: xoxb-test, channel: "#sec" }
  hook: { type: webhook, url: "https://hooks.example.com/klaxon" }
routes:
  to: [slack-sec, hook]
`);
    const whole: Notification = {
      id: 'n-2',
      key: 'k',
      route: 'root',
      destination: 'slack-sec',
      groupLabels: {},
      createdAt: '2026-11-25T10:05:00.000Z',
      changes: { new: findings, regressed: [], resolved: [], open: [] },
    };
    const slack = notificationFor(config.destinations['slack-sec']!, whole);
    expect(slack.changes.new.length).toBeLessThanOrEqual(20 * SEVERITIES.length);
    expect(listCount(slack, 'new')).toBe(findings.length);
    expect(JSON.stringify(slack).length).toBeLessThan(JSON.stringify(whole).length / 20);
    expect(notificationFor(config.destinations.hook!, whole)).toBe(whole);
  });
});
