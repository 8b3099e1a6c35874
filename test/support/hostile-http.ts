import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { formats, integrationFor, integrations } from '@klaxon/sources';
import { fixturesOf, hostileFrom, hostileValue } from './hostile';

/** The one secret every source is configured with, so that hostile bodies reach the parsers rather than stop at 401. */
export const FUZZ_SECRET = 'fuzz-secret';

/** `sources:` of a config whose every webhook takes FUZZ_SECRET the way that sender proves itself. */
export function fuzzSourcesYaml(): string {
  return integrations()
    .map((name) =>
      name === 'github'
        ? `  github: { secret: ${FUZZ_SECRET} }`
        : name === 'harbor'
          ? `  harbor: { webhookAuth: ${FUZZ_SECRET} }`
          : `  ${name}: { token: ${FUZZ_SECRET} }`,
    )
    .join('\n');
}

/** How each sender proves itself. */
function authenticate(name: string, body: Uint8Array): { headers: Record<string, string>; query: string } {
  switch (name) {
    case 'github':
      return {
        headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', FUZZ_SECRET).update(body).digest('hex')}`, 'x-github-event': 'workflow_run' },
        query: '',
      };
    case 'gitlab':
      return { headers: { 'x-gitlab-token': FUZZ_SECRET, 'x-gitlab-event': 'Pipeline Hook' }, query: '' };
    case 'quay':
      return { headers: {}, query: `?token=${FUZZ_SECRET}` };
    case 'harbor':
      return { headers: { authorization: FUZZ_SECRET }, query: '' };
    default:
      return { headers: { authorization: `Bearer ${FUZZ_SECRET}` }, query: '' };
  }
}

const INTEGRATION_FORMAT: Record<string, string> = { falcosidekick: 'falco' };
const seeds = new Map(
  [...formats(), ...integrations()].map((f) => [f, fixturesOf(INTEGRATION_FORMAT[f] ?? integrationFor(f)?.format({ headers: {}, raw: '' }) ?? f)]),
);

const invalidUtf8 = fc.uint8Array({ maxLength: 64 }).map((bytes) => new Uint8Array([0x7b, 0x22, 0xff, 0xc3, 0x28, ...bytes, 0xed, 0xa0, 0x80, 0x7d]));
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/x-ndjson',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
  'application/json; charset=latin1',
);
const contextValue = fc.oneof(
  fc.constantFrom('acme/shop', '1a2b3c4d5e', 'main', '42', 'sha256:' + 'a'.repeat(64)),
  hostileValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v ?? ''))),
);
const context = fc.dictionary(fc.constantFrom('repo', 'commit', 'branch', 'pr', 'image', 'digest', 'format', 'other'), contextValue, { maxKeys: 3 });

const target = fc.oneof(
  fc.record({ path: fc.constant('/v1/reports'), format: fc.option(fc.constantFrom(...formats(), 'nope'), { nil: undefined }), context }),
  fc.record({
    path: fc.constantFrom(...integrations().map((i) => `/v1/webhooks/${i}`), '/v1/webhooks/unknown'),
    format: fc.constant(undefined),
    context: fc.constant({}),
  }),
);

const TEXT = new TextEncoder();

/** One hostile HTTP request to the intake: a report upload or a webhook, its body mutated from that sender's real fixtures. */
export interface HostileRequest {
  /** Path and query, to append to the app's base URL. */
  path: string;
  init: { method: 'POST'; body: Uint8Array; headers: Record<string, string> };
  /** What the case is, for assertion messages. */
  label: string;
}

/** Hostile requests to `/v1/reports` (with the API token `apiToken`) and to every webhook (with its FUZZ_SECRET). */
export function hostileRequest(apiToken: string): fc.Arbitrary<HostileRequest> {
  return target
    .chain((r) => {
      const name = r.path.startsWith('/v1/webhooks/') ? r.path.slice('/v1/webhooks/'.length) : (r.format ?? 'trivy');
      const own = seeds.get(name) ?? seeds.get('trivy')!;
      const body = fc.oneof({ weight: 4, arbitrary: hostileFrom(own).map((t) => TEXT.encode(t)) }, { weight: 1, arbitrary: invalidUtf8 });
      return fc.record({ r: fc.constant(r), name: fc.constant(name), body, type: contentType });
    })
    .map(({ r, name, body, type }) => {
      const auth = r.path.startsWith('/v1/webhooks/') ? authenticate(name, body) : { headers: { authorization: `Bearer ${apiToken}` }, query: '' };
      const query = new URLSearchParams({ ...(r.format ? { format: r.format } : {}), ...r.context }).toString();
      return {
        path: `${r.path}${auth.query || (query ? `?${query}` : '')}`,
        init: { method: 'POST' as const, body, headers: { ...(type ? { 'content-type': type } : {}), ...auth.headers } },
        label: `${r.path} ${type}`,
      };
    });
}
