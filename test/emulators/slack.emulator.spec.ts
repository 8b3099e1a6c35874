import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackEmulator } from './slack.emulator';

let slack: SlackEmulator;

beforeAll(async () => {
  slack = await SlackEmulator.start();
});
afterAll(async () => {
  await slack.stop();
});
beforeEach(() => slack.reset());

/** What @slack/web-api sends: form-encoded, objects as JSON strings, the token as a bearer header. */
function form(method: string, params: Record<string, unknown>, token = slack.token) {
  const body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return fetch(`${slack.url}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

function json(method: string, params: Record<string, unknown>, token = slack.token) {
  return fetch(`${slack.url}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(params),
  });
}

/** The fields of a Slack answer these tests read. */
interface Answer {
  ok: boolean;
  ts: string;
  error?: string;
  errors: string[];
  [field: string]: unknown;
}

async function answer(response: Promise<Response>): Promise<Answer> {
  return (await response).json() as Promise<Answer>;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('SlackEmulator', () => {
  it('serves under a base URL ending in /api/, as slackApiUrl expects', () => {
    expect(slack.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it('posts a form-encoded message and answers with the channel id and an increasing ts', async () => {
    const first = await answer(form('chat.postMessage', { channel: '#sec-alerts', text: 'hi', blocks: [section('hi')] }));
    const second = await answer(json('chat.postMessage', { channel: 'C0SECALERTS', text: 'again' }));

    expect(first).toMatchObject({ ok: true, channel: 'C0SECALERTS', message: { text: 'hi', blocks: [section('hi')] } });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(second.ts > first.ts).toBe(true);
    expect(slack.messages).toEqual([
      { channel: 'C0SECALERTS', ts: first.ts, text: 'hi', blocks: [section('hi')] },
      { channel: 'C0SECALERTS', ts: second.ts, text: 'again', blocks: undefined },
    ]);
  });

  it('records thread replies against their root', async () => {
    const root = await answer(form('chat.postMessage', { channel: '#sec-alerts', text: 'root' }));
    await form('chat.postMessage', { channel: '#sec-alerts', text: 'reply', thread_ts: root.ts });

    expect(slack.roots('#sec-alerts').map((m) => m.text)).toEqual(['root']);
    expect(slack.replies(root.ts).map((m) => m.text)).toEqual(['reply']);
  });

  it('answers platform errors with HTTP 200 and ok:false', async () => {
    const cases: Array<[Response, string]> = [
      [await form('chat.postMessage', { channel: '#sec-alerts', text: 'x' }, 'xoxb-wrong'), 'invalid_auth'],
      [await fetch(`${slack.url}auth.test`, { method: 'POST' }), 'not_authed'],
      [await form('chat.postMessage', { channel: '#random', text: 'x' }), 'channel_not_found'],
      [await form('chat.postMessage', { channel: '#sec-alerts' }), 'no_text'],
      [await form('chat.postMessage', { channel: '#sec-alerts', text: 'x'.repeat(40_001) }), 'msg_too_long'],
      [await form('chat.update', { channel: 'C0SECALERTS', ts: '1.000001', text: 'x' }), 'message_not_found'],
      [await form('chat.nope', {}), 'unknown_method'],
    ];
    for (const [res, error] of cases) {
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: false, error });
    }
    expect(slack.messages).toEqual([]);
  });

  it.each([
    ['more than 50 blocks', Array.from({ length: 51 }, () => section('x')), '/blocks'],
    ['a section text over 3000 characters', [section('x'.repeat(3001))], '/blocks/0/text/text'],
    ['a header over 150 characters', [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }], '/blocks/0/text/text'],
    ['a mrkdwn header', [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }], '/blocks/0/text'],
  ])('rejects %s as invalid_blocks with a json-pointer', async (_, blocks, pointer) => {
    const body = await answer(form('chat.postMessage', { channel: '#sec-alerts', text: 'x', blocks }));

    expect(body.ok).toBe(false);
    expect(body.error).toBe('invalid_blocks');
    expect(body.errors.join()).toContain(`[json-pointer:${pointer}]`);
  });

  it('edits an existing message in place on chat.update', async () => {
    const { ts } = await answer(form('chat.postMessage', { channel: '#sec-alerts', text: 'open' }));

    const body = await answer(form('chat.update', { channel: 'C0SECALERTS', ts, text: 'resolved' }));

    expect(body).toMatchObject({ ok: true, channel: 'C0SECALERTS', ts, text: 'resolved' });
    expect(slack.updates).toEqual([{ channel: 'C0SECALERTS', ts, text: 'resolved', blocks: undefined }]);
    expect(slack.messages[0]).toMatchObject({ ts, text: 'resolved', edited: true });
  });

  it('injects rate limiting with a Retry-After header, then serves again', async () => {
    slack.failNext(1, { status: 429, retryAfter: 7 });

    const limited = await form('chat.postMessage', { channel: '#sec-alerts', text: 'x' });
    const next = await form('chat.postMessage', { channel: '#sec-alerts', text: 'x' });

    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toEqual({ ok: false, error: 'ratelimited' });
    expect(next.status).toBe(200);
    expect(slack.messages).toHaveLength(1);
  });

  it('injects server errors and platform errors for the next n calls', async () => {
    slack.failNext(2, { status: 500 });
    slack.failNext(1, { error: 'account_inactive' });

    const responses = [];
    for (let i = 0; i < 4; i++) {
      const res = await form('auth.test', {});
      responses.push({ status: res.status, body: (await res.json()) as Answer });
    }

    expect(responses.map((r) => r.status)).toEqual([500, 500, 200, 200]);
    expect(responses[2]!.body).toEqual({ ok: false, error: 'account_inactive' });
    expect(responses[3]!.body).toMatchObject({ ok: true, team_id: 'T0KLAXON' });
  });
});
