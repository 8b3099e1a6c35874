import { expect } from 'vitest';
import { fixture } from './fixtures';
import type { TestKlaxon } from './klaxon';
import { waitFor } from './wait';

/** The checkout image's Trivy report (critical findings to route) and a later scan of it with none. */
export const checkoutReport = fixture('trivy', 'image-checkout.json');
export const emptyReport = fixture('trivy', 'empty.json');
/** The checkout findings back in a scan made after the empty one (a rebuild that brought them back): a regression. */
export const regressedReport = JSON.stringify({ ...JSON.parse(checkoutReport), CreatedAt: '2026-11-24T12:00:00Z' });

/** POSTs a Trivy report (`query` adds upload context, `&repo=…`) and returns its event id. */
export async function postReport(klaxon: TestKlaxon, body: string, query = ''): Promise<string> {
  const res = await klaxon.api(`/v1/reports?format=trivy${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}

/** The event once a destination has recorded a delivery of it. */
export const delivered = (klaxon: TestKlaxon, eventId: string, what = `the delivery of ${eventId}`) =>
  waitFor(
    async () => {
      const e = await klaxon.runtime.events.get(eventId);
      return e && Object.keys(e.deliveries ?? {}).length ? e : undefined;
    },
    what,
    30_000,
  );

export interface DeadLetter {
  id: string;
  queue: string;
  error: { message: string };
}

export async function deadLetters(klaxon: TestKlaxon): Promise<DeadLetter[]> {
  return ((await (await klaxon.api('/v1/dead-letters')).json()) as { items: DeadLetter[] }).items;
}

/** The first dead letter of `queue` (`deliver.jira-sec`, …: `deliver.<destination name>`), once there is one. */
export const deadLetterOf = (klaxon: TestKlaxon, queue: string) =>
  waitFor(async () => (await deadLetters(klaxon)).find((l) => l.queue === queue), 'the dead letter', 30_000);

export async function replay(klaxon: TestKlaxon, letterId: string): Promise<void> {
  expect((await klaxon.api(`/v1/dead-letters/${letterId}/replay`, { method: 'POST' })).status).toBe(202);
}
