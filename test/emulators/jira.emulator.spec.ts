import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JiraEmulator } from './jira.emulator';

let jira: JiraEmulator;
const base = () => `http://${jira.host}:${jira.port}/rest/api/2`;
const auth = () => `Basic ${Buffer.from(`${jira.username}:${jira.password}`).toString('base64')}`;
const call = (path: string, init: { method?: string; body?: unknown; authorization?: string } = {}) =>
  fetch(`${base()}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: init.authorization ?? auth(), 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
const issue = (labels: string[], over: Record<string, unknown> = {}) => ({
  fields: { project: { key: 'SEC' }, issuetype: { name: 'Bug' }, summary: 'openssl CVE-2024-2511', priority: { name: 'High' }, labels, ...over },
});

beforeAll(async () => {
  jira = await JiraEmulator.start();
});
afterAll(async () => {
  await jira.stop();
});
beforeEach(() => jira.reset());

describe('JiraEmulator', () => {
  it('answers 401 with Jira’s error shape without basic auth', async () => {
    const res = await call('/search?jql=labels%20%3D%20x', { authorization: 'Basic bm9wZTpub3Bl' });

    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ errorMessages: [expect.stringContaining('not authenticated')], errors: {} });
  });

  it('validates fields on create with errors keyed by field', async () => {
    const res = await call('/issue', { method: 'POST', body: issue(['has space'], { priority: { name: 'Urgent' }, summary: 'x'.repeat(256) }) });

    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: Record<string, string> };
    expect(Object.keys(body.errors).sort()).toEqual(['labels', 'priority', 'summary']);
  });

  it('finds issues by label with GET and POST JQL, including labels in (…)', async () => {
    await call('/issue', { method: 'POST', body: issue(['klaxon-aaaa']) });
    await call('/issue', { method: 'POST', body: issue(['klaxon-bbbb']) });

    const get = (await (await call(`/search?jql=${encodeURIComponent('labels = "klaxon-bbbb"')}`)).json()) as { total: number; issues: Array<{ key: string }> };
    const post = (await (
      await call('/search', { method: 'POST', body: { jql: 'project = "SEC" AND labels in ("klaxon-aaaa", "klaxon-bbbb") ORDER BY created ASC' } })
    ).json()) as { total: number };

    expect(get).toMatchObject({ total: 1, issues: [{ key: 'SEC-2' }] });
    expect(post.total).toBe(2);
    expect((await call('/search', { method: 'POST', body: { jql: 'labels ~ "x"' } })).status).toBe(400);
  });

  it('offers only the transitions valid from the current status', async () => {
    await call('/issue', { method: 'POST', body: issue(['klaxon-aaaa']) });
    const names = async () =>
      ((await (await call('/issue/SEC-1/transitions')).json()) as { transitions: Array<{ name: string }> }).transitions.map((t) => t.name);

    expect(await names()).toEqual(['In Progress', 'Done']);
    expect(
      (await call('/issue/SEC-1/transitions', { method: 'POST', body: { transition: { id: '31' }, update: { comment: [{ add: { body: 'fixed' } }] } } }))
        .status,
    ).toBe(204);
    expect(await names()).toEqual(['Reopen']);
    expect((await call('/issue/SEC-1/transitions', { method: 'POST', body: { transition: { id: '31' } } })).status).toBe(400);
    expect(jira.issue('SEC-1')!.comments.map((c) => c.body)).toEqual(['fixed']);
  });

  it('answers 429 with Retry-After when told to', async () => {
    jira.failNext(1, { status: 429, retryAfter: 3 });

    const res = await call('/issue/SEC-1');

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
  });
});
