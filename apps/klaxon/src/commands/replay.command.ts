import type { Command } from './command';
import { parseOptions } from './command';
import { ServerCallFailed, callServer, errorMessage } from './server-client';

const USAGE = [
  'replay --list --server <url> --token <token>        what is quarantined or dead-lettered',
  'replay <id>… --server <url> --token <token>         put quarantined inputs (evt_…) or dead letters back',
];

interface Listing {
  total: number;
  items: { id: string; integration?: string; queue?: string; error?: { message: string }; failedAt?: string; receivedAt?: string }[];
}

async function list(server: string, token: string, out: Console): Promise<number> {
  for (const [title, path] of [
    ['quarantined inputs', '/v1/quarantine'],
    ['dead letters', '/v1/dead-letters'],
  ] as const) {
    const { status, body } = await callServer(server, token, path, { query: { limit: '500' } });
    if (status !== 200) throw new ServerCallFailed(errorMessage(status, body));
    const listing = body as Listing;
    out.log(`${title}: ${listing.total}`);
    for (const item of listing.items) {
      out.log(`  ${item.id}  ${item.integration ?? item.queue ?? ''}  ${item.receivedAt ?? item.failedAt ?? ''}  ${item.error?.message ?? ''}`);
    }
  }
  return 0;
}

/** A quarantined input's id is its event id; anything else is a dead letter's. */
function replayPath(id: string): string {
  const encoded = encodeURIComponent(id);
  return id.startsWith('evt_') ? `/v1/quarantine/${encoded}/replay` : `/v1/dead-letters/${encoded}/replay`;
}

async function replay(args: string[], out: Console): Promise<number> {
  const { positional, options } = parseOptions(args);
  const server = (typeof options.server === 'string' ? options.server : undefined) ?? process.env.KLAXON_URL;
  const token = (typeof options.token === 'string' ? options.token : undefined) ?? process.env.KLAXON_API_TOKEN;
  const usage = (problem: string) => {
    out.error(`klaxon replay: ${problem}\nusage: klaxon ${USAGE.join('\n       klaxon ')}`);
    return 2;
  };
  if (!server) return usage('--server (or KLAXON_URL) is required');
  if (!token) return usage('--token (or KLAXON_API_TOKEN) is required');
  if (!options.list && !positional.length) return usage('name what to replay, or --list');
  try {
    if (options.list) return await list(server, token, out);
    let failed = 0;
    for (const id of positional) {
      const { status, body } = await callServer(server, token, replayPath(id), { method: 'POST' });
      if (status === 202) out.log(`${id}: replayed`);
      else {
        failed++;
        out.error(`${id}: ${errorMessage(status, body)}`);
      }
    }
    return failed ? 1 : 0;
  } catch (err) {
    if (!(err instanceof ServerCallFailed)) throw err;
    out.error(`klaxon replay: ${err.message}`);
    return 2;
  }
}

export const replayCommand: Command = { name: 'replay', usage: USAGE, run: replay };
