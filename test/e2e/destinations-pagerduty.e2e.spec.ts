import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_KEY, PagerDutyEmulator } from '../emulators/pagerduty.emulator';
import { checkoutReport, deadLetterOf, delivered, emptyReport, postReport, regressedReport, replay } from '../support/destinations';
import { startTestKlaxon, withTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { testPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const report = checkoutReport;

const config = (pd: PagerDutyEmulator, routingKey = DEFAULT_ROUTING_KEY) => `
server:
  maxBodyBytes: 2097152
destinations:
  pd-oncall:
    type: pagerduty
    routingKey: ${routingKey}
    eventsUrl: ${pd.eventsUrl}
    caFile: ${pd.caFile}
routes:
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1d
  routes:
    - name: criticals
      match: ["severity >= critical"]
      to: [pd-oncall]
      groupBy: [artifact.repository]
`;

describe('PagerDuty through the running app: one alert per group, resolved and retriggered by its dedup_key', () => {
  let pd: PagerDutyEmulator;
  let klaxon: TestKlaxon;
  let dedupKey: string;

  beforeAll(async () => {
    pd = await PagerDutyEmulator.start();
    klaxon = await startTestKlaxon(config(pd));
  });
  afterAll(async () => {
    await klaxon?.close();
    await pd?.stop();
  });

  it('triggers one alert for the critical findings of the image, over TLS', async () => {
    const eventId = await postReport(klaxon, report);
    await delivered(klaxon, eventId);

    expect(pd.events).toHaveLength(1);
    const [trigger] = pd.events;
    expect(trigger).toMatchObject({ routing_key: DEFAULT_ROUTING_KEY, event_action: 'trigger', payload: { severity: 'critical', component: 'shop/checkout' } });
    expect(trigger!.payload!.summary.length).toBeLessThanOrEqual(1024);
    expect(trigger!.payload!.summary).toMatch(/^\[critical\] .* \(\+\d+ more\)$/);
    dedupKey = trigger!.dedup_key;
    expect(dedupKey).toMatch(/^klaxon\//);
    expect(pd.allAlerts()).toHaveLength(1);
  });

  it('sends nothing when the same report comes again', async () => {
    const eventId = await postReport(klaxon, report);
    await waitFor(async () => ((await klaxon.runtime.events.get(eventId))?.triage ? true : undefined), 'triage of the repost');

    expect(pd.events).toHaveLength(1);
  });

  it('resolves the same alert when a newer scan has none of its findings', async () => {
    await postReport(klaxon, emptyReport);

    await waitFor(() => pd.alert(dedupKey)?.status === 'resolved', 'the resolve', 30_000);
    expect(pd.events.map((e) => [e.event_action, e.dedup_key])).toEqual([
      ['trigger', dedupKey],
      ['resolve', dedupKey],
    ]);
  });

  it('triggers the same key again on regression (a new incident), never acknowledging', async () => {
    await postReport(klaxon, regressedReport);

    await waitFor(() => pd.alert(dedupKey)?.status === 'triggered', 'the retrigger', 30_000);
    expect(pd.alert(dedupKey)!.incidents).toBe(2);
    expect(pd.allAlerts()).toHaveLength(1);
    expect(pd.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve', 'trigger']);
  });

  it('deduplicates at PagerDuty when the ledger is lost (a fresh prefix)', async () => {
    await withTestKlaxon(config(pd), async (fresh) => {
      await delivered(fresh, await postReport(fresh, report));
      expect(pd.allAlerts()).toHaveLength(1);
      expect(pd.alert(dedupKey)!.incidents).toBe(2);
    });
  });
});

describe('PagerDuty delivery failures', () => {
  let pd: PagerDutyEmulator;

  beforeAll(async () => {
    pd = await PagerDutyEmulator.start();
  });
  afterAll(async () => {
    await pd?.stop();
  });

  it('waits out a lasting 429 and retries two 503s, triggering exactly once', async () => {
    // pdjs itself retries a 429 three times: the fourth reaches the queue, which waits Retry-After.
    pd.failNext(4, { status: 429, retryAfter: 1 });
    pd.failNext(2, { status: 503 });
    await withTestKlaxon(config(pd), async (klaxon) => {
      await delivered(klaxon, await postReport(klaxon, report));
      expect(pd.calls.map((c) => c.status)).toEqual([429, 429, 429, 429, 503, 503, 202]);
      expect(pd.events).toHaveLength(1);
    });
  }, 45_000);

  it('dead-letters an unknown routing key and delivers on replay once the config is fixed', async () => {
    pd.reset();
    const prefix = testPrefix('e2e-pd-dlq');
    const letterId = await withTestKlaxon(
      config(pd, 'R0REVOKEDROUTINGKEY0000000000001'),
      async (broken) => {
        await postReport(broken, report);
        const letter = await deadLetterOf(broken, 'deliver.pd-oncall');
        expect(letter.error.message).toContain('pagerduty: HTTP 400 Event object is invalid: Invalid routing key');
        return letter.id;
      },
      { prefix },
    );

    await withTestKlaxon(
      config(pd),
      async (fixed) => {
        await replay(fixed, letterId);
        await waitFor(() => pd.events.length === 1, 'the trigger after replay', 30_000);
        expect(pd.events[0]).toMatchObject({ event_action: 'trigger', routing_key: DEFAULT_ROUTING_KEY, payload: { severity: 'critical' } });
      },
      { prefix },
    );
  });
});
