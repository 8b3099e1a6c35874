import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APP_ID, GitHubEmulator, INSTALLATION_ID } from './github.emulator';

let gh: GitHubEmulator;
const call = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
  fetch(`${gh.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `token ${init.token ?? gh.token}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

/** A GitHub App JWT as @octokit/auth-app makes it: RS256, iss = app id, ten minutes long at most. */
function appJwt(privateKey: string, iss = APP_ID): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: now - 60, exp: now + 540, iss })}`;
  return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), privateKey).toString('base64url')}`;
}

const accessToken = (jwt: string) =>
  fetch(`${gh.url}/app/installations/${INSTALLATION_ID}/access_tokens`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` } });

async function installationToken(): Promise<string> {
  const res = await accessToken(appJwt(gh.appPrivateKey));
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

beforeAll(async () => {
  gh = await GitHubEmulator.start();
});
afterAll(async () => {
  await gh.stop();
});
beforeEach(() => gh.reset());

describe('GitHubEmulator', () => {
  it('paginates issue comments with a Link header', async () => {
    for (let i = 0; i < 5; i++) gh.seedComment('acme/checkout', 42, `c${i}`);

    const first = await call('/repos/acme/checkout/issues/42/comments?per_page=2');
    const last = await call('/repos/acme/checkout/issues/42/comments?per_page=2&page=3');

    expect(((await first.json()) as Array<{ body: string }>).map((c) => c.body)).toEqual(['c0', 'c1']);
    expect(first.headers.get('link')).toMatch(/page=2>; rel="next".*page=3>; rel="last"/);
    expect(((await last.json()) as Array<{ body: string }>).map((c) => c.body)).toEqual(['c4']);
    expect(last.headers.get('link')).not.toContain('rel="next"');
  });

  it('answers Bad credentials, Not Found and a too-long body as GitHub does', async () => {
    const bad = await call('/repos/acme/checkout/issues/42/comments', { token: 'nope' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ message: 'Bad credentials' });

    expect((await call('/repos/acme/other/issues/1/comments')).status).toBe(404);

    const long = await call('/repos/acme/checkout/issues/42/comments', { method: 'POST', body: { body: 'x'.repeat(65_537) } });
    expect(long.status).toBe(422);
    expect(await long.json()).toMatchObject({ message: 'Validation Failed', errors: [{ field: 'body', code: 'custom' }] });
  });

  it('signals secondary and primary rate limits with the headers clients read', async () => {
    gh.failNext(1, { kind: 'secondary', retryAfter: 30 });
    gh.failNext(1, { kind: 'primary', resetInSeconds: 60 });

    const secondary = await call('/repos/acme/checkout/issues/42/comments');
    const primary = await call('/repos/acme/checkout/issues/42/comments');

    expect(secondary.status).toBe(403);
    expect(secondary.headers.get('retry-after')).toBe('30');
    expect(((await secondary.json()) as { message: string }).message).toMatch(/secondary rate limit/);
    expect(primary.status).toBe(403);
    expect(primary.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('updates a check run in place and accumulates its annotations', async () => {
    const sha = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
    const annotation = { path: 'a.py', start_line: 1, end_line: 1, annotation_level: 'warning', message: 'm' };
    const token = await installationToken();
    const created = (await (
      await call('/repos/acme/checkout/check-runs', {
        method: 'POST',
        token,
        body: { name: 'Klaxon', head_sha: sha, output: { title: 't', summary: 's', annotations: [annotation] } },
      })
    ).json()) as { id: number };
    await call(`/repos/acme/checkout/check-runs/${created.id}`, {
      method: 'PATCH',
      token,
      body: { status: 'completed', conclusion: 'success', output: { title: 't', summary: 's', annotations: [annotation] } },
    });

    const listed = (await (await call(`/repos/acme/checkout/commits/${sha}/check-runs?check_name=Klaxon`)).json()) as { total_count: number };
    expect(listed.total_count).toBe(1);
    expect(gh.checkRuns[0]).toMatchObject({ conclusion: 'success', updates: 1 });
    expect(gh.checkRuns[0]!.annotations).toHaveLength(2);
  });

  it('issues installation tokens only for a JWT signed with the app key', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

    const forged = await accessToken(appJwt(stranger));
    const otherApp = await accessToken(appJwt(gh.appPrivateKey, '1'));
    const issued = await accessToken(appJwt(gh.appPrivateKey));

    expect(forged.status).toBe(401);
    expect(otherApp.status).toBe(401);
    expect(issued.status).toBe(201);
    const body = (await issued.json()) as { token: string; expires_at: string };
    expect(body.token).toMatch(/^ghs_/);
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(59 * 60_000);
  });

  it('answers 403 to a check run written with a personal token, as only GitHub Apps may write them', async () => {
    const sha = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
    const run = { name: 'Klaxon', head_sha: sha, status: 'completed', conclusion: 'success', output: { title: 't', summary: 's' } };

    const personal = await call('/repos/acme/checkout/check-runs', { method: 'POST', body: run });
    expect(personal.status).toBe(403);
    expect(await personal.json()).toMatchObject({ message: 'You must authenticate via a GitHub App.' });
    expect(gh.checkRuns).toEqual([]);

    const created = await call('/repos/acme/checkout/check-runs', { method: 'POST', body: run, token: await installationToken() });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect((await call(`/repos/acme/checkout/check-runs/${id}`, { method: 'PATCH', body: run })).status).toBe(403);
    expect((await call(`/repos/acme/checkout/commits/${sha}/check-runs`)).status).toBe(200);
  });
});
