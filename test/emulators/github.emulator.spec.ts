import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubEmulator } from './github.emulator';

let gh: GitHubEmulator;
const call = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
  fetch(`${gh.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `token ${init.token ?? gh.token}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

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
    const created = (await (await call('/repos/acme/checkout/check-runs', { method: 'POST', body: { name: 'Klaxon', head_sha: sha, output: { title: 't', summary: 's', annotations: [annotation] } } })).json()) as { id: number };
    await call(`/repos/acme/checkout/check-runs/${created.id}`, { method: 'PATCH', body: { status: 'completed', conclusion: 'success', output: { title: 't', summary: 's', annotations: [annotation] } } });

    const listed = (await (await call(`/repos/acme/checkout/commits/${sha}/check-runs?check_name=Klaxon`)).json()) as { total_count: number };
    expect(listed.total_count).toBe(1);
    expect(gh.checkRuns[0]).toMatchObject({ conclusion: 'success', updates: 1 });
    expect(gh.checkRuns[0]!.annotations).toHaveLength(2);
  });
});
