import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Slack Web API double that speaks the real contract closely enough for the official
 * @slack/web-api client: `POST /api/<method>`, the token in `Authorization: Bearer …` (or a `token`
 * form field), form-encoded bodies with `blocks` as a JSON string (what WebClient sends) or JSON
 * bodies, HTTP 200 with `{ok:false, error}` for platform errors, HTTP 429 with `Retry-After` for
 * rate limits. https://api.slack.com/methods/chat.postMessage
 */

export interface SlackChannel {
  id: string;
  name: string;
}

export interface SlackEmulatorOptions {
  /** The one bot token accepted. */
  token?: string;
  /** Known channels, as `{id, name}`, a name (`#sec-alerts`) or an id (`C0SECALERTS`). */
  channels?: Array<string | SlackChannel>;
  port?: number;
}

/** A message in a channel, in its current state (chat.update edits it in place, as Slack does). */
export interface SlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  edited?: boolean;
}

export interface SlackUpdate {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
}

export interface SlackCall {
  method: string;
  ok: boolean;
  error?: string;
  status: number;
}

export type SlackFault = { status: 429; retryAfter: number } | { status: 500 | 502 | 503 | 504 } | { error: string };

export const DEFAULT_TOKEN = 'xoxb-klaxon-test-token';
export const DEFAULT_CHANNELS: SlackChannel[] = [{ id: 'C0SECALERTS', name: 'sec-alerts' }];

// Limits Slack enforces on chat.postMessage / chat.update (Block Kit reference and method docs).
const MAX_BLOCKS = 50;
const MAX_SECTION_TEXT = 3000;
const MAX_SECTION_FIELDS = 10;
const MAX_SECTION_FIELD_TEXT = 2000;
const MAX_HEADER_TEXT = 150;
const MAX_CONTEXT_ELEMENTS = 10;
const MAX_BLOCK_ID = 255;
const MAX_TEXT = 40_000;

type Params = Record<string, unknown>;
type Reply = { status: number; body: Params; headers?: Record<string, string> };

class SlackError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Params = {},
  ) {
    super(error);
  }
}

export class SlackEmulator {
  readonly messages: SlackMessage[] = [];
  readonly updates: SlackUpdate[] = [];
  readonly calls: SlackCall[] = [];
  readonly token: string;
  readonly channels: SlackChannel[];
  private faults: Array<{ fault: SlackFault; method?: string }> = [];
  // Deterministic, strictly increasing ts values shaped like Slack's ("1732350000.000100").
  private seq = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    opts: SlackEmulatorOptions,
  ) {
    this.token = opts.token ?? DEFAULT_TOKEN;
    this.channels = (opts.channels ?? DEFAULT_CHANNELS).map(toChannel);
  }

  static async start(opts: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const emulator = new SlackEmulator(server, `http://127.0.0.1:${port}/api/`, opts);
    server.on('request', (req, res) => void emulator.handle(req, res));
    return emulator;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `n` calls (of `method`, else of any method) fail with `fault` instead of being served. */
  failNext(n: number, fault: SlackFault, opts: { method?: string } = {}): void {
    for (let i = 0; i < n; i++) this.faults.push({ fault, method: opts.method });
  }

  reset(): void {
    this.messages.length = 0;
    this.updates.length = 0;
    this.calls.length = 0;
    this.faults = [];
  }

  /** Root messages of a channel (not thread replies). */
  roots(channel?: string): SlackMessage[] {
    return this.messages.filter((m) => !m.thread_ts && (!channel || m.channel === this.channelOf(channel)?.id));
  }

  /** Replies in the thread of `ts`. */
  replies(ts: string): SlackMessage[] {
    return this.messages.filter((m) => m.thread_ts === ts);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = url.pathname.replace(/^\/api\//, '');
    let reply: Reply;
    try {
      const params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req)) };
      reply = this.serve(method, url.pathname, req, params);
    } catch (err) {
      reply = err instanceof SlackError ? platformError(err) : { status: 500, body: { ok: false, error: 'fatal_error' } };
    }
    this.calls.push({
      method,
      ok: reply.body.ok === true,
      error: typeof reply.body.error === 'string' ? reply.body.error : undefined,
      status: reply.status,
    });
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
    res.end(JSON.stringify(reply.body));
  }

  private serve(method: string, path: string, req: IncomingMessage, params: Params): Reply {
    const index = this.faults.findIndex((f) => !f.method || f.method === method);
    if (index >= 0) return faultReply(this.faults.splice(index, 1)[0]!.fault);
    if (!path.startsWith('/api/')) throw new SlackError('unknown_method');
    this.authenticate(req, params);
    switch (method) {
      case 'auth.test':
        return ok({
          url: 'https://klaxon-test.slack.com/',
          team: 'Klaxon Test',
          user: 'klaxon',
          team_id: 'T0KLAXON',
          user_id: 'U0KLAXON',
          bot_id: 'B0KLAXON',
        });
      case 'conversations.list':
        return ok({
          channels: this.channels.map((c) => ({ id: c.id, name: c.name, is_channel: true, is_member: true })),
          response_metadata: { next_cursor: '' },
        });
      case 'chat.postMessage':
        return this.postMessage(params);
      case 'chat.update':
        return this.update(params);
      default:
        throw new SlackError('unknown_method');
    }
  }

  private authenticate(req: IncomingMessage, params: Params) {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : params.token;
    if (!token) throw new SlackError('not_authed');
    if (token !== this.token) throw new SlackError('invalid_auth');
  }

  private postMessage(params: Params): Reply {
    const channel = this.requireChannel(params.channel);
    const { text, blocks } = validateContent(params);
    const ts = this.nextTs();
    const threadTs = optionalString(params.thread_ts);
    const message: SlackMessage = { channel: channel.id, ts, text, blocks };
    if (threadTs) {
      message.thread_ts = threadTs;
      message.reply_broadcast = params.reply_broadcast === true || params.reply_broadcast === 'true';
    }
    this.messages.push(message);
    return ok({
      channel: channel.id,
      ts,
      message: {
        type: 'message',
        subtype: 'bot_message',
        bot_id: 'B0KLAXON',
        text: text ?? '',
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ts,
      },
    });
  }

  private update(params: Params): Reply {
    const channel = this.requireChannel(params.channel);
    const ts = optionalString(params.ts);
    if (!ts) throw new SlackError('message_not_found');
    const message = this.messages.find((m) => m.channel === channel.id && m.ts === ts);
    if (!message) throw new SlackError('message_not_found');
    const { text, blocks } = validateContent(params);
    message.text = text;
    message.blocks = blocks;
    message.edited = true;
    this.updates.push({ channel: channel.id, ts, text, blocks });
    return ok({
      channel: channel.id,
      ts,
      text: text ?? '',
      message: { type: 'message', bot_id: 'B0KLAXON', text: text ?? '', ...(blocks ? { blocks } : {}), edited: true },
    });
  }

  private requireChannel(value: unknown): SlackChannel {
    const channel = typeof value === 'string' ? this.channelOf(value) : undefined;
    if (!channel) throw new SlackError('channel_not_found');
    return channel;
  }

  private channelOf(value: string): SlackChannel | undefined {
    const name = value.replace(/^#/, '');
    return this.channels.find((c) => c.id === value || c.name === name);
  }

  private nextTs(): string {
    this.seq += 100;
    return `${1_732_350_000 + Math.floor(this.seq / 1_000_000)}.${String(this.seq % 1_000_000).padStart(6, '0')}`;
  }
}

function toChannel(c: string | SlackChannel): SlackChannel {
  if (typeof c !== 'string') return c;
  if (c.startsWith('#'))
    return {
      id: `C${c
        .slice(1)
        .replace(/[^a-z0-9]/gi, '')
        .toUpperCase()}`,
      name: c.slice(1),
    };
  return /^[CGD][A-Z0-9]+$/.test(c) ? { id: c, name: c.toLowerCase() } : { id: `C${c.toUpperCase()}`, name: c };
}

async function readParams(req: IncomingMessage): Promise<Params> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    try {
      const body: unknown = JSON.parse(raw);
      if (body && typeof body === 'object' && !Array.isArray(body)) return body as Params;
    } catch {
      // falls through to Slack's answer for a body it cannot read
    }
    throw new SlackError('invalid_json');
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function validateContent(params: Params): { text?: string; blocks?: unknown[] } {
  const text = optionalString(params.text);
  const blocks = parseBlocks(params.blocks);
  if (!text && !blocks?.length && !params.attachments) throw new SlackError('no_text');
  if (text && text.length > MAX_TEXT) throw new SlackError('msg_too_long');
  if (blocks) {
    const errors = blockErrors(blocks);
    if (errors.length) {
      throw new SlackError('invalid_blocks', {
        errors,
        response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
      });
    }
  }
  return { text, blocks };
}

/** Form bodies carry blocks as a JSON string (the client's serializeApiCallData); JSON bodies as an array. */
function parseBlocks(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let blocks = value;
  if (typeof value === 'string') {
    try {
      blocks = JSON.parse(value);
    } catch {
      throw new SlackError('invalid_blocks_format');
    }
  }
  if (!Array.isArray(blocks)) throw new SlackError('invalid_blocks_format');
  return blocks;
}

/** The checks Slack's Block Kit validation makes that a notifier can trip over, with its json-pointers. */
function blockErrors(blocks: unknown[]): string[] {
  const errors: string[] = [];
  if (blocks.length > MAX_BLOCKS) errors.push(`no more than ${MAX_BLOCKS} items allowed [json-pointer:/blocks]`);
  const ids = new Set<string>();
  blocks.forEach((value, i) => {
    const at = `/blocks/${i}`;
    const block = value as Params;
    if (!block || typeof block !== 'object' || typeof block.type !== 'string') {
      errors.push(`missing required field: type [json-pointer:${at}]`);
      return;
    }
    if (typeof block.block_id === 'string') {
      if (block.block_id.length > MAX_BLOCK_ID) errors.push(tooLong(MAX_BLOCK_ID, `${at}/block_id`));
      if (ids.has(block.block_id)) errors.push(`duplicate block_id [json-pointer:${at}/block_id]`);
      ids.add(block.block_id);
    }
    switch (block.type) {
      case 'header': {
        const text = block.text as Params | undefined;
        if (text?.type !== 'plain_text') errors.push(`must be a plain_text object [json-pointer:${at}/text]`);
        errors.push(...textErrors(text, MAX_HEADER_TEXT, `${at}/text`));
        break;
      }
      case 'section': {
        const fields = block.fields as unknown[] | undefined;
        if (block.text === undefined && !fields) errors.push(`must provide either text or fields [json-pointer:${at}]`);
        if (block.text !== undefined) errors.push(...textErrors(block.text as Params, MAX_SECTION_TEXT, `${at}/text`));
        if (fields) {
          if (fields.length > MAX_SECTION_FIELDS) errors.push(`no more than ${MAX_SECTION_FIELDS} items allowed [json-pointer:${at}/fields]`);
          fields.forEach((f, j) => errors.push(...textErrors(f as Params, MAX_SECTION_FIELD_TEXT, `${at}/fields/${j}`)));
        }
        break;
      }
      case 'context': {
        const elements = block.elements as unknown[] | undefined;
        if (!Array.isArray(elements) || elements.length === 0) errors.push(`must provide at least 1 item [json-pointer:${at}/elements]`);
        else if (elements.length > MAX_CONTEXT_ELEMENTS) errors.push(`no more than ${MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:${at}/elements]`);
        break;
      }
    }
  });
  return errors;
}

function textErrors(text: Params | undefined, max: number, at: string): string[] {
  if (!text || typeof text.text !== 'string') return [`missing required field: text [json-pointer:${at}/text]`];
  if (text.type !== 'plain_text' && text.type !== 'mrkdwn') return [`must be a valid enum value [json-pointer:${at}/type]`];
  if (text.text.length === 0) return [`must be more than 0 characters [json-pointer:${at}/text]`];
  if (text.text.length > max) return [tooLong(max, `${at}/text`)];
  return [];
}

function tooLong(max: number, at: string): string {
  return `must be less than ${max + 1} characters [json-pointer:${at}]`;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function ok(body: Params): Reply {
  return { status: 200, body: { ok: true, ...body } };
}

function platformError(err: SlackError): Reply {
  return { status: 200, body: { ok: false, error: err.error, ...err.extra } };
}

function faultReply(fault: SlackFault): Reply {
  if ('error' in fault) return { status: 200, body: { ok: false, error: fault.error } };
  if (fault.status === 429) {
    return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(fault.retryAfter) } };
  }
  return { status: fault.status, body: { ok: false, error: 'internal_error' } };
}
