import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const text = (dir: string, name: string) => readFileSync(resolve(__dirname, '../fixtures', dir, name), 'utf8');
const TOKENS = { falco: 'falco-hook-token', falcosidekick: 'sidekick-hook-token', stackrox: 'acs-hook-token', alertmanager: 'am-hook-token' };

type Finding = {
  fingerprint: string;
  state: string;
  kind: string;
  rule: { id: string; tags?: string[] };
  raw?: Record<string, unknown>;
  workload?: Record<string, string>;
  severity: string;
};

describe('runtime webhooks over HTTP', () => {
  let klaxon: TestKlaxon;
  beforeAll(async () => {
    klaxon = await startTestKlaxon(`
sources:
  falco: { token: ${TOKENS.falco} }
  falcosidekick: { token: ${TOKENS.falcosidekick} }
  stackrox: { token: ${TOKENS.stackrox}, username: acs, password: acs-basic-secret }
  alertmanager: { token: ${TOKENS.alertmanager} }
  tetragon: { allowUnauthenticated: true }
routes: {}
`);
  });
  afterAll(async () => klaxon?.close());

  /** Posts to a webhook the way the sender does: no Klaxon API token, its own bearer token when it has one. */
  const post = (integration: string, body: string, token?: string) =>
    fetch(`${klaxon.url}/v1/webhooks/${integration}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  async function triaged(res: Response) {
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    return waitFor(async () => {
      const e = (await (await klaxon.api(`/v1/events/${eventId}`)).json()) as Record<string, any>;
      return e.status === 'triaged' || e.status === 'routed' ? e : undefined;
    }, `triage of ${eventId}`);
  }

  async function findings(query: string): Promise<Finding[]> {
    const body = (await (await klaxon.api(`/v1/findings?limit=500&${query}`)).json()) as { items: Finding[] };
    return body.items;
  }

  it('takes a newline-delimited batch of Falco events as runtime findings with their evidence', async () => {
    const event = await triaged(await post('falco', text('falco', 'events-prod-shop.ndjson'), TOKENS.falco));
    expect(event).toMatchObject({ integration: 'webhook:falco', parsed: { format: 'falco', findings: 6 } });
    expect(event.triage.new).toBe(6);
    const shell = (await findings('kind=runtime&workload=prod-shop/checkout')).find((f) => f.rule.id === 'Terminal shell in container')!;
    expect(shell).toMatchObject({ state: 'open', severity: 'low', workload: { kind: 'Deployment', name: 'checkout' } });
    expect(shell.rule.tags).toContain('mitre_execution');
    expect(shell.raw).toMatchObject({ 'proc.cmdline': 'bash', 'user.name': 'root' });
  });

  it('takes the falcosidekick payload, meets the same finding, and acknowledges its test event', async () => {
    const event = await triaged(await post('falcosidekick', text('falco', 'falcosidekick-shell.json'), TOKENS.falcosidekick));
    expect(event.triage).toMatchObject({ new: 0 });
    const test = await post('falcosidekick', text('falco', 'sidekick-test.json'), TOKENS.falcosidekick);
    expect(test.status).toBe(202);
    expect(((await test.json()) as { ignored: string }).ignored).toBe('falcosidekick test event');
  });

  it('checks the bearer token of senders that have one configured', async () => {
    const none = await post('falco', text('falco', 'falcosidekick-shell.json'));
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'unauthorized', field: 'authorization' });
    expect((await post('stackrox', text('stackrox', 'runtime-alert.json'), 'wrong')).status).toBe(401);
    // Tetragon has no token but allowUnauthenticated here: anyone may post.
    expect((await post('tetragon', text('tetragon', 'events-prod-shop.ndjson'))).status).toBe(202);
  });

  it('takes the ACS generic webhook with its basic auth, compared for user and password', async () => {
    const basic = (credentials: string) =>
      fetch(`${klaxon.url}/v1/webhooks/stackrox`, {
        method: 'POST',
        body: text('stackrox', 'audit-message.json'),
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
      });
    expect((await basic('acs:acs-basic-secret')).status).toBe(202);
    for (const wrong of ['acs:nope', 'other:acs-basic-secret', 'acs', '']) {
      const res = await basic(wrong);
      expect(res.status, wrong).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'unauthorized', field: 'authorization' });
    }
  });

  it('fails closed: a webhook without credentials configured refuses everyone, in the API error shape', async () => {
    for (const integration of ['harbor', 'quay', 'registry']) {
      const res = await post(integration, '{}', 'anything');
      expect(res.status, integration).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'unauthorized', field: 'authorization', message: expect.stringContaining(`sources.${integration}.`) });
    }
  });

  it('reads no text/plain body on a webhook (a web page could post one without a CORS preflight)', async () => {
    const res = await fetch(`${klaxon.url}/v1/webhooks/falco`, {
      method: 'POST',
      body: text('falco', 'falcosidekick-shell.json'),
      headers: { 'content-type': 'text/plain;charset=UTF-8', authorization: `Bearer ${TOKENS.falco}` },
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'unsupported_media_type', field: 'content-type' });
  });

  it('takes Tetragon exec and kprobe events, ignoring a body of other event types', async () => {
    const event = await triaged(await post('tetragon', text('tetragon', 'events-prod-shop.ndjson')));
    expect(event.parsed).toMatchObject({ format: 'tetragon', findings: 4 });
    const kprobe = (await findings('kind=runtime')).find((f) => f.rule.id === 'file-monitoring-filtered/security_file_permission')!;
    expect(kprobe.rule.tags).toContain('observability.filesystem');
    const exit = await post('tetragon', text('tetragon', 'process-exit.json'));
    expect(exit.status).toBe(202);
    expect(((await exit.json()) as { ignored: string }).ignored).toMatch(/process_exit/);
  });

  it('joins a StackRox alert to the shell Falco saw in the same Deployment, and resolves it when ACS resolves it', async () => {
    const opened = await triaged(await post('stackrox', text('stackrox', 'runtime-alert.json'), TOKENS.stackrox));
    // The Falco batch above had a terminal shell in checkout: the same behaviour, so the same finding.
    expect(opened.triage).toMatchObject({ new: 0, unchanged: 1 });
    const alert = () => findings('kind=runtime&workload=prod-eu-1/prod-shop/Deployment/checkout');
    expect((await alert()).find((f) => f.rule.id === 'Shell Spawned by Java Application')!.state).toBe('open');
    const resolved = await triaged(await post('stackrox', text('stackrox', 'runtime-alert-resolved.json'), TOKENS.stackrox));
    expect(resolved.triage.resolved).toBe(1);
    const audit = await post('stackrox', text('stackrox', 'audit-message.json'), TOKENS.stackrox);
    expect(audit.status).toBe(202);
  });

  it('opens firing Alertmanager alerts and resolves them when they resolve', async () => {
    const firing = await triaged(await post('alertmanager', text('alertmanager', 'firing.json'), TOKENS.alertmanager));
    expect(firing.parsed).toMatchObject({ findings: 2, scopes: 1 });
    const crashLoop = async () => (await findings('kind=runtime')).find((f) => f.rule.id === 'KubePodCrashLooping')!;
    expect((await crashLoop()).state).toBe('open');
    const resolved = await triaged(await post('alertmanager', text('alertmanager', 'resolved.json'), TOKENS.alertmanager));
    expect(resolved.triage).toMatchObject({ resolved: 1, unchanged: 1 });
    expect((await crashLoop()).state).toBe('resolved');
  });

  it('rejects malformed bodies with 422 naming the field and quarantines them', async () => {
    for (const [integration, dir, name, field, token] of [
      ['falco', 'falco', 'bad-priority.json', 'priority', TOKENS.falco],
      ['tetragon', 'tetragon', 'missing-binary.json', 'process_exec.process.binary', undefined],
      ['stackrox', 'stackrox', 'bad-stage.json', 'alert.lifecycleStage', TOKENS.stackrox],
      ['alertmanager', 'alertmanager', 'version-3.json', 'version', TOKENS.alertmanager],
    ] as const) {
      const res = await post(integration, text(dir, name), token);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { field: string; eventId: string; quarantined: boolean };
      expect(body).toMatchObject({ field, quarantined: true });
      const quarantine = (await (await klaxon.api('/v1/quarantine')).json()) as { items: { id: string }[] };
      expect(quarantine.items.map((e) => e.id)).toContain(body.eventId);
    }
    const broken = await post('falco', '{"rule": "x", "priority": ', TOKENS.falco);
    expect(broken.status).toBe(422);
  });
});
