import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEmulator } from '../emulators/webhook.emulator';
import { chromiumPath } from '../support/browser';
import { API_TOKEN, startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (path: string) => readFileSync(resolve(__dirname, '../fixtures', path), 'utf8');
const SHOTS = resolve(__dirname, '../../test-results/dashboard');
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const FALCO_TOKEN = 'falco-token';

/** A Falco detection whose command line an intruder wrote: it must show as text, never run. */
const hostileShell = JSON.stringify({
  hostname: 'ip-10-20-3-17',
  output:
    '16:05:00.000000000: Notice A shell was spawned in a container with an attached terminal (cmdline=sh -c <script>window.__owned=1</script><img src=x onerror="window.__owned=2">)',
  output_fields: {
    'container.id': '3b2f1c0e9d8a',
    'container.image.repository': 'harbor.example.com/shop/checkout',
    'container.image.tag': '1.4.2',
    'container.name': 'checkout',
    'k8s.ns.name': 'prod-shop',
    'k8s.pod.name': 'checkout-7d9c5b6f4-x2k8p',
    'proc.cmdline': 'sh -c <script>window.__owned=1</script><img src=x onerror="window.__owned=2">',
    'proc.name': 'sh',
    'user.name': 'root',
  },
  priority: 'Notice',
  rule: 'Terminal shell in container',
  source: 'syscall',
  tags: ['container', 'shell', 'mitre_execution'],
  time: '2026-11-23T16:05:00.000000000Z',
});

describe('the dashboard, driven in headless Chromium', () => {
  let klaxon: TestKlaxon;
  let webhook: WebhookEmulator;
  let browser: Browser;
  let page: Page;

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await klaxon.api(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect(res.status).toBe(202);
    return ((await res.json()) as { eventId: string }).eventId;
  };
  const shot = (name: string) => page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    webhook = await WebhookEmulator.start();
    klaxon = await startTestKlaxon(`
sources:
  falco: { token: ${FALCO_TOKEN} }
destinations:
  audit-hook:
    type: webhook
    url: ${webhook.url}
routes:
  to: []
  routes:
    - match: ["kind = vulnerability", "severity >= critical"]
      to: [audit-hook]
      groupBy: [artifact.repository]
      groupWait: 0s
      groupInterval: 0s
`);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await klaxon?.close();
    await webhook?.stop();
  });

  it('signs in with the API token, which becomes an HTTP-only session cookie', async () => {
    await page.goto(`${klaxon.url}/ui/`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not a Klaxon API token' }).waitFor();
    await page.getByLabel('API token').fill(API_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // The page's placeholder goes once the app draws: no "Loading…" left above the header.
    expect(await page.locator('#app > p').count()).toBe(0);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'klaxon_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie.value).not.toContain(API_TOKEN);
    expect(await page.evaluate('document.cookie')).toBe('');
    await shot('overview-empty');
  });

  it('shows a posted report’s findings without a reload', async () => {
    await page.goto(`${klaxon.url}/ui/#/findings`);
    await page.getByTestId('findings-total').filter({ hasText: '0 finding(s)' }).waitFor();
    // The first delivery is refused (400): its notification becomes a dead letter to replay later.
    webhook.failNext(1, { status: 400 });
    await post(`/v1/reports?format=trivy&repo=acme/checkout&pr=42&commit=${COMMIT}`, fixture('trivy/image-checkout.json'));
    const total = await page.getByTestId('findings-total').filter({ hasNotText: '0 finding(s)' }).textContent({ timeout: 20_000 });
    expect(Number.parseInt(total!, 10)).toBeGreaterThan(0);
    await page
      .getByRole('link', { name: /CVE-2024-/ })
      .first()
      .waitFor();
    await shot('findings');
  });

  it('opens a finding and draws its chain: commit and PR → image digest → workloads → runtime', async () => {
    await page
      .getByRole('link', { name: /CVE-2024-/ })
      .first()
      .click();
    await page.getByTestId('finding-title').waitFor();
    const chain = page.getByTestId('chain');
    await expect.poll(() => chain.textContent()).toContain('acme/checkout');
    const text = (await chain.textContent())!;
    expect(text).toContain('PR #42');
    expect(text).toContain(`commit ${COMMIT.slice(0, 12)}`);
    expect(text).toContain('sha256:9f2c1a7e3b5d');
    expect(text).toContain('Runtime detections');
    await expect.poll(() => page.getByText('Where it was routed, and why').isVisible()).toBe(true);
    await shot('finding-chain');
  });

  it('replays a dead letter from the Failed page, and the destination then has it', async () => {
    await waitFor(async () => ((await (await klaxon.api('/v1/dead-letters')).json()) as { total: number }).total > 0 || undefined, 'the dead letter', 30_000);
    await page.goto(`${klaxon.url}/ui/#/failed`);
    const letters = page.getByTestId('dead-letters');
    await letters.getByText('deliver.audit-hook').waitFor();
    await shot('failed');
    expect(webhook.processed()).toHaveLength(0);
    await letters.getByRole('button', { name: 'Replay' }).first().click();
    await waitFor(() => webhook.processed().length > 0 || undefined, 'the replayed delivery', 30_000);
    await letters.getByText('no dead letters').waitFor({ timeout: 20_000 });
  });

  it('shows a Falco command line holding <script> as text, running nothing', async () => {
    await post('/v1/webhooks/falco', hostileShell, { authorization: `Bearer ${FALCO_TOKEN}` });
    await page.goto(`${klaxon.url}/ui/#/findings?kind=runtime`);
    await page
      .getByRole('link', { name: /Terminal shell in container/ })
      .first()
      .click({ timeout: 20_000 });
    const description = page.getByTestId('finding-description');
    await expect.poll(() => description.textContent()).toContain('<script>window.__owned=1</script>');
    expect(await page.evaluate('window.__owned')).toBeUndefined();
    expect(await page.locator('main script, main img').count()).toBe(0);
    await shot('finding-hostile-text');
  });

  it('lists, in a vulnerability’s chain, the runtime detections of the workloads its image runs in', async () => {
    // The cluster: prod-shop/checkout runs the scanned digest, the workload the shell above was opened in.
    await post('/v1/reports?format=kubernetes', fixture('kubernetes/cluster-list.json'));
    const { items } = (await (await klaxon.api('/v1/findings?kind=vulnerability&severity=critical&limit=1')).json()) as { items: { fingerprint: string }[] };
    const [{ fingerprint }] = items;
    await waitFor(
      async () => {
        const f = (await (await klaxon.api(`/v1/findings/${fingerprint}`)).json()) as { context: { runsIn: { id: string }[] } | null };
        return f.context?.runsIn.some((w) => w.id.endsWith('/prod-shop/Deployment/checkout')) || undefined;
      },
      'the vulnerability correlated with the running workload',
      30_000,
    );
    await page.goto(`${klaxon.url}/ui/#/finding/${fingerprint}`);
    const chain = page.getByTestId('chain');
    await expect.poll(() => chain.textContent(), { timeout: 20_000 }).toContain('prod-shop/Deployment/checkout');
    await expect.poll(() => chain.textContent(), { timeout: 20_000 }).toContain('Terminal shell in container');
    await shot('finding-chain-runtime');
  });

  it('adopts a runtime-derived suggestion, with its policy YAML to copy', async () => {
    await post('/v1/webhooks/falco', fixture('falco/checkout-hardening.jsonl'), {
      authorization: `Bearer ${FALCO_TOKEN}`,
      'content-type': 'application/x-ndjson',
    });
    await page.goto(`${klaxon.url}/ui/#/suggestions`);
    const table = page.getByTestId('suggestions');
    await table.getByRole('button', { name: 'Adopt' }).first().waitFor({ timeout: 30_000 });
    await table.getByRole('link').first().click();
    await expect.poll(() => page.getByTestId('suggestion-yaml').textContent()).toContain('kind: ClusterPolicy');
    await page.getByRole('button', { name: 'Adopt' }).click();
    await page.getByRole('button', { name: 'Unadopt' }).waitFor();
    const { items } = (await (await klaxon.api('/v1/suggestions')).json()) as { items: { adoptedAt?: string }[] };
    expect(items.filter((s) => s.adoptedAt)).toHaveLength(1);
    await shot('suggestion');
  });

  it('shows a failing CIS control with its findings and remediation', async () => {
    await post('/v1/reports?format=kube-bench&cluster=prod-eu-1', fixture('kube-bench/master.json'));
    await page.goto(`${klaxon.url}/ui/#/compliance`);
    const control = page.getByTestId('control-1.1.12');
    await control.waitFor({ timeout: 20_000 });
    expect(await control.textContent()).toContain('fail');
    await control.getByText(/finding\(s\)/).click();
    await expect.poll(() => control.textContent()).toContain('etcd');
    expect(await control.textContent()).toContain('Fix:');
    await shot('compliance');
  });

  it('ranks workloads, lists exceptions with expiry, and every view is reachable by keyboard', async () => {
    await page.goto(`${klaxon.url}/ui/#/exceptions`);
    await page.getByLabel('Matchers, one per line').fill('rule = CVE-2024-0001');
    await page.getByLabel('Reason').fill('accepted until the base image moves');
    await page.getByLabel('Owner').fill('team-shop');
    const soon = new Date(Date.now() + 2 * 86_400_000);
    await page.getByLabel('Expires').fill(soon.toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('exceptions').getByText('expires soon').waitFor();
    await shot('exceptions');
    await page.goto(`${klaxon.url}/ui/#/workloads`);
    await page.getByTestId('workloads').waitFor();
    await shot('workloads');
    await page.goto(`${klaxon.url}/ui/#/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Overview');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Findings');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Findings' }).waitFor();
    await page.goto(`${klaxon.url}/ui/#/`);
    await expect.poll(async () => Number(await page.getByTestId('open-total').textContent())).toBeGreaterThan(0);
    await shot('overview');
  });

  it('refuses cookie writes without the CSRF token and reads without any session', async () => {
    const cookie = (await page.context().cookies())[0];
    const withCookie = { cookie: `${cookie.name}=${cookie.value}` };
    expect((await fetch(`${klaxon.url}/v1/overview`, { headers: withCookie })).status).toBe(200);
    const forged = await fetch(`${klaxon.url}/v1/exceptions`, { method: 'POST', headers: { ...withCookie, 'content-type': 'application/json' }, body: '{}' });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: 'forbidden', field: 'x-klaxon-csrf' });
    expect((await fetch(`${klaxon.url}/v1/overview`)).status).toBe(401);
  });
});
