import { inflateRawSync } from 'node:zlib';
import { compressSync, uncompressSync } from 'lz4-napi';

/*
 * How Redis keeps a finding's report (`data` in its hash): compressed with a preset dictionary of what
 * every finding's JSON repeats (the model's field names, the usual tools, kinds, severities, link
 * prefixes, risk reasons), behind a one-byte format marker.
 *
 * - 0x03, what this version writes when the value has a context: an LZ4 block as 0x02, its dictionary
 *   followed by the context, a text the reader knows without the value. A finding's context is its
 *   fingerprint and the event that reported it (the key of its hash and its `lastCause`, written with
 *   `data` in one command): random text, which no dictionary shared by all findings can hold and LZ4
 *   cannot shorten, 47 of the 486 bytes an alert kept in 0x02.
 * - 0x02: an LZ4 block (lz4-napi's format: the length of the JSON as four bytes, little-endian, then
 *   the block) with the dictionary as its prefix, what this version writes without a context. An alert
 *   as triage stores it, 1.3 KB of JSON, keeps in about 0.5 KB. It costs 5–8 µs to write and 2 µs to
 *   read.
 * - 0x01, what the previous version wrote: deflate-raw with the same dictionary. It keeps the same
 *   alert in about 0.35 KB, but costs 35–40 µs to write on its own and 60–100 µs inside the triage
 *   step (a zlib stream per value): 40 % of the CPU of a 5,000-vulnerability Trivy report.
 * - `{`: the JSON itself, as versions before those wrote it.
 *
 * The dictionary is part of the stored format: data written with it can only be read with it. A new
 * dictionary takes a new marker, and this reader keeps every earlier one.
 */

/** Format marker of deflate-raw with DICTIONARY_V1 (read only). */
const DEFLATE_V1 = 0x01;
/** Format marker of an LZ4 block with DICTIONARY_V1 as its prefix. */
const LZ4_V1 = 0x02;
/** Format marker of an LZ4 block with DICTIONARY_V1 and then the value's context as its prefix. */
const LZ4_CONTEXT_V1 = 0x03;
const JSON_OPEN = 0x7b; // `{`

// Most frequent last: deflate (format 0x01) codes nearer matches in fewer bits.
const DICTIONARY_V1 = Buffer.from(
  [
    '"code":{"repo":"","commit":"","branch":"main","pullRequest":,"path":"","line":,"partialFingerprint":""}',
    '"package":{"name":"","ecosystem":"debian","installed":"","fixed":"","purl":"pkg:deb/debian/","path":""}',
    '"pkg:npm/","pkg:pypi/","pkg:golang/","pkg:maven/","pkg:apk/alpine/","?arch=amd64&distro=debian-12',
    '"artifact":{"registry":"","repository":"","tag":"latest","digest":"sha256:"}',
    '"rule":{"id":"CVE-20","name":"","references":["https://avd.aquasec.com/nvd/cve-20","https://nvd.nist.gov/vuln/detail/CVE-20",',
    '"https://github.com/advisories/GHSA-","https://access.redhat.com/security/cve/CVE-20","https://ubuntu.com/security/CVE-20"],',
    '"cvss":,"exploited":true,"epss":,"tags":["container","shell","process","network","mitre_execution"]}',
    '"labels":{"alertname":"","instance":"","job":"","severity":"","namespace":"","pod":"","container":"","image":"",',
    '"deployment":"","alertmanager.fingerprint":"","workload.derived":"","repo":"","pr":"#","commit":""}',
    '"raw":{"annotations":{"summary":"","description":"","runbook_url":""},"startsAt":"","generatorURL":"http://","externalURL":"http://",',
    '"output":"","output_fields":{"container.id":"","proc.cmdline":"","user.name":"root"},"priority":"Warning","hostname":"",',
    '"correlation":{"workload":{"id":"/","exposedVia":[],"privileges":[],"owners":{}},"runningIn":["/"],"vulnerablePackages":[]}}',
    '"source":{"tool":"trivy","integration":"report","tool":"grype","tool":"falco","tool":"kyverno","tool":"alertmanager",',
    '"integration":"webhook:alertmanager","integration":"webhook:falco","integration":"collector","eventId":"evt_","toolVersion":""}',
    '"workload":{"cluster":"","namespace":"","kind":"Deployment","kind":"StatefulSet","kind":"DaemonSet","kind":"Pod","name":"","pod":"","container":""}',
    '"kind":"misconfiguration","stage":"deploy","kind":"policy","kind":"secret","kind":"code","stage":"registry",',
    '"kind":"vulnerability","stage":"build","kind":"runtime","stage":"runtime",',
    '"severity":"low","toolSeverity":"LOW","severity":"medium","toolSeverity":"MEDIUM","severity":"info","toolSeverity":"UNKNOWN",',
    '"severity":"high","toolSeverity":"HIGH","severity":"critical","toolSeverity":"CRITICAL",',
    '"fixable":false,"fixable":true,"remediation":"Upgrade  to ","observedAt":"20',
    '"environment":"prod","exposure":"internet","exposure":"internal",',
    '"risk":{"score":,"reasons":["+35 critical severity","+25 high severity","+10 running in "," (linked by workload)"," (linked by digest)"]}',
    '{"fingerprint":"","kind":"","stage":"","source":{"tool":"","integration":"","eventId":"evt_"},"title":"","description":"",',
    '"severity":"","toolSeverity":"","rule":{"id":"","name":"","references":["https://"]},"workload":{"namespace":"","kind":"","name":""}',
  ].join(''),
);

/**
 * The stored form of a JSON text (`JSON.stringify` of the value: callers may have it already). With a
 * context (format 0x03), the value can be read only with the same context.
 */
export function encodeStoredJson(json: string, context?: string): Buffer {
  // The text itself, not a Buffer of it: lz4-napi encodes it as UTF-8 on its side, 3 of the 10 µs a call saved.
  const compressed = compressSync(json, context === undefined ? DICTIONARY_V1 : withContext(context));
  const out = Buffer.allocUnsafe(compressed.length + 1);
  out[0] = context === undefined ? LZ4_V1 : LZ4_CONTEXT_V1;
  compressed.copy(out, 1);
  return out;
}

export class StoredDataError extends Error {
  constructor(marker: number, why = 'neither JSON nor a format this version reads (written by a newer version?)') {
    super(`a stored value starts with byte ${marker}: ${why}`);
    this.name = 'StoredDataError';
  }
}

/** A stored value: compressed (this version) or JSON (earlier ones). `context` is the one it was written with, if any. */
export function decodeStoredJson(stored: Buffer, context?: string): unknown {
  const marker = stored[0];
  if (marker === JSON_OPEN) return JSON.parse(stored.toString('utf8'));
  if (marker === LZ4_CONTEXT_V1) {
    if (context === undefined) throw new StoredDataError(marker, 'written with a context, read without one');
    return JSON.parse(uncompressSync(stored.subarray(1), withContext(context)).toString('utf8'));
  }
  if (marker === LZ4_V1) return JSON.parse(uncompressSync(stored.subarray(1), DICTIONARY_V1).toString('utf8'));
  if (marker === DEFLATE_V1) return JSON.parse(inflateRawSync(stored.subarray(1), { dictionary: DICTIONARY_V1 }).toString('utf8'));
  throw new StoredDataError(marker);
}

/** The context of a finding's `data`: its fingerprint and the event that reported it, as its JSON spells them. */
export function findingContext(fingerprint: string, eventId: string): string {
  return `"fingerprint":${JSON.stringify(fingerprint)},"eventId":${JSON.stringify(eventId)}`;
}

// One dictionary buffer, its context rewritten per call (the calls are synchronous): no 2.5 KB copy each.
let scratch = Buffer.alloc(0);
function withContext(context: string): Buffer {
  const length = DICTIONARY_V1.length + Buffer.byteLength(context);
  if (scratch.length < length) {
    scratch = Buffer.allocUnsafe(Math.max(length, DICTIONARY_V1.length + 256));
    DICTIONARY_V1.copy(scratch);
  }
  scratch.write(context, DICTIONARY_V1.length);
  return scratch.subarray(0, length);
}
