import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../apps/klaxon/src/cli';
import { API_TOKEN, startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

function capture() {
  const lines: string[] = [];
  const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) } as unknown as Console;
  return { out, text: () => lines.join('\n') };
}

describe('klaxon replay against a running server', () => {
  let klaxon: TestKlaxon;
  let quarantined: string;

  beforeAll(async () => {
    klaxon = await startTestKlaxon('routes: {}\n');
    const res = await klaxon.api('/v1/reports?format=trivy', {
      method: 'POST',
      body: readFileSync(resolve(__dirname, '../fixtures/trivy/schema-v3.json'), 'utf8'),
      headers: { 'content-type': 'application/json' },
    });
    quarantined = ((await res.json()) as { eventId: string }).eventId;
  });
  afterAll(() => klaxon?.close());

  it('lists what is quarantined', async () => {
    const { out, text } = capture();
    expect(await main(['replay', '--list', '--server', klaxon.url, '--token', API_TOKEN], out)).toBe(0);
    expect(text()).toContain('quarantined inputs: 1');
    expect(text()).toContain(quarantined);
    expect(text()).toContain('dead letters: 0');
  });

  it('puts a quarantined input back through ingest (exit 0)', async () => {
    const { out, text } = capture();
    expect(await main(['replay', quarantined, '--server', klaxon.url, '--token', API_TOKEN], out)).toBe(0);
    expect(text()).toContain(`${quarantined}: replayed`);
    const event = await waitFor(async () => {
      const e = (await (await klaxon.api(`/v1/events/${quarantined}`)).json()) as { replays: number; status: string };
      return e.replays === 1 && e.status === 'quarantined' ? e : undefined;
    }, 'the replayed input to be quarantined again');
    expect(event.replays).toBe(1);
  });

  it('exits 1 for an id it cannot replay, 2 for usage and an unreachable server', async () => {
    const { out, text } = capture();
    expect(await main(['replay', 'evt_nope', '--server', klaxon.url, '--token', API_TOKEN], out)).toBe(1);
    expect(text()).toContain('evt_nope: the server answered 404');
    expect(await main(['replay', 'evt_nope', '--token', API_TOKEN], out)).toBe(2);
    expect(await main(['replay', '--server', klaxon.url, '--token', API_TOKEN], out)).toBe(2);
    expect(await main(['replay', '--list', '--server', 'http://127.0.0.1:9', '--token', API_TOKEN], out)).toBe(2);
    expect(text()).toContain('cannot reach http://127.0.0.1:9');
    expect(await main(['replay', '--list', '--server', klaxon.url, '--token', 'wrong'], out)).toBe(2);
    expect(text()).toContain('the server answered 401');
  });
});
