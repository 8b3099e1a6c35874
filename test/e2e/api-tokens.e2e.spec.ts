import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const trivy = readFileSync(resolve(__dirname, '../fixtures/trivy/image-checkout.json'), 'utf8');
const CI_TOKEN = 'checkout-ci-secret';
const OPS_TOKEN = 'ops-admin-secret';

describe('API tokens with scopes', () => {
  let klaxon: TestKlaxon;
  beforeAll(async () => {
    const opsFile = join(mkdtempSync(join(tmpdir(), 'klaxon-tokens-')), 'ops-token');
    writeFileSync(opsFile, `${OPS_TOKEN}\n`, { mode: 0o600 });
    klaxon = await startTestKlaxon(
      `
auth:
  tokens:
    - { name: checkout-ci, scope: ci, repos: [acme/checkout], tokenEnv: CHECKOUT_CI_TOKEN }
    - { name: ops, scope: admin, tokenFile: ${opsFile} }
routes: {}
`,
      { env: { CHECKOUT_CI_TOKEN: CI_TOKEN } },
    );
  });
  afterAll(async () => klaxon?.close());

  const as = (token: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
    klaxon.api(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
  const upload = (token: string, query: string) =>
    as(token, `/v1/reports?format=trivy&${query}`, { method: 'POST', body: trivy, headers: { 'content-type': 'application/json' } });

  it('lets a ci token upload reports and run the gate for its own repositories only, naming repo otherwise', async () => {
    expect((await upload(CI_TOKEN, 'repo=acme/checkout&commit=1a2b3c4d')).status).toBe(202);
    for (const query of ['repo=acme/payments', 'commit=1a2b3c4d']) {
      const res = await upload(CI_TOKEN, query);
      expect(res.status, query).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'forbidden', field: 'repo' });
    }
    const gate = (repo: string) =>
      as(CI_TOKEN, `/v1/gate?format=trivy&repo=${repo}&commit=1a2b3c4d`, { method: 'POST', body: trivy, headers: { 'content-type': 'application/json' } });
    expect((await gate('acme/checkout')).status).toBe(200);
    const other = await gate('acme/payments');
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: 'forbidden', field: 'repo' });
  });

  it('lets no ci token post an empty report that would resolve another team’s findings of an image', async () => {
    const ledger = trivy.replaceAll('shop/checkout', 'pay/ledger');
    const post = (token: string, body: string, repo: string) =>
      as(token, `/v1/reports?format=trivy&repo=${repo}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await post(OPS_TOKEN, ledger, 'acme/payments')).status).toBe(202);
    await waitFor(async () => {
      const body = (await (await as(OPS_TOKEN, '/v1/findings?image=pay/ledger')).json()) as { total: number };
      return body.total > 0;
    }, 'the payments team’s findings');
    const empty = JSON.stringify({ ...JSON.parse(ledger), Results: [] });
    const res = await post(CI_TOKEN, empty, 'acme/checkout');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden', field: 'repo', message: expect.stringContaining('acme/payments') });
    const open = (await (await as(OPS_TOKEN, '/v1/findings?image=pay/ledger&state=open')).json()) as { total: number };
    expect(open.total).toBeGreaterThan(0);
  });

  it('refuses a ci token every admin call, and lets it read', async () => {
    const exception = { id: 'catch-all', match: ['severity >= info'], reason: 'r', owner: 'o', permanent: true };
    const admin = [
      as(CI_TOKEN, '/v1/exceptions', { method: 'POST', json: exception }),
      as(CI_TOKEN, '/v1/dead-letters/x/replay', { method: 'POST' }),
      as(CI_TOKEN, '/v1/quarantine/x/replay', { method: 'POST' }),
      as(CI_TOKEN, '/v1/quarantine'),
    ];
    for (const res of await Promise.all(admin)) {
      expect(res.status, res.url).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'forbidden', field: 'authorization' });
    }
    for (const path of ['/v1/findings', '/v1/risk/workloads', '/v1/suggestions', '/v1/exceptions']) expect((await as(CI_TOKEN, path)).status, path).toBe(200);
    expect((await as(OPS_TOKEN, '/v1/exceptions', { method: 'POST', json: exception })).status).toBe(201);
    expect((await as('not-a-token', '/v1/findings')).status).toBe(401);
  });

  it('shows /queues to any token and lets only an admin change jobs', async () => {
    const basic = (token: string) => `Basic ${Buffer.from(`someone:${token}`).toString('base64')}`;
    const board = (token: string, method = 'GET', path = '/queues/api/queues') =>
      fetch(`${klaxon.url}${path}`, { method, headers: { authorization: basic(token) } });
    expect((await board(CI_TOKEN)).status).toBe(200);
    const pause = await board(CI_TOKEN, 'PUT', '/queues/api/queues/pause');
    expect(pause.status).toBe(403);
    expect(await pause.json()).toMatchObject({ error: 'forbidden', field: 'authorization' });
    expect((await board(OPS_TOKEN, 'PUT', '/queues/api/queues/resume')).status).toBe(200);
  });
});
