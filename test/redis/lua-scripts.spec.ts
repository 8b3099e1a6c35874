import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFinding, type Finding } from '@klaxon/findings';
import { AssetRepository, FindingRepository, ReportTimeRepository, SuggestionRepository } from '@klaxon/triage';
import { GroupRepository } from '@klaxon/routing';
import { LedgerRepository } from '@klaxon/destinations';
import { intakeStore } from '../../apps/gateway/src/http/rate-limit';
import { keySlot } from '../support/key-slot';
import { dropPrefix, testPrefix, testRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/*
 * Every Lua script names its keys in KEYS and touches only keys of one Redis Cluster slot, so a cluster
 * can run it (docs/redis.md, "Hash tags"). Checked on what Redis sees: MONITOR lists each script call
 * with its KEYS, then every command the script runs inside Redis (source "lua"), whose keys Redis itself
 * names (COMMAND GETKEYS).
 */

const root = resolve(__dirname, '../..');

function luaFiles(dir: string): string[] {
  return (readdirSync(resolve(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.lua')).map((f) => resolve(root, dir, f));
}

const files = [...luaFiles('apps'), ...luaFiles('libs')];
const isPrelude = (file: string) => file.endsWith('-prelude.lua');
/** The prelude a script runs after (its header says "as in <name>-prelude.lua"), or undefined. */
const preludeOf = (text: string) => /as in ([a-z-]+-prelude\.lua)/.exec(header(text))?.[1];

function header(text: string): string {
  const lines = text.split('\n');
  const end = lines.findIndex((l) => !l.startsWith('--'));
  return lines.slice(0, end).join('\n');
}

/** The text ioredis sends for a script: its prelude first when it has one. */
function scriptText(file: string): string {
  const text = readFileSync(file, 'utf8');
  const prelude = preludeOf(text);
  return prelude ? readFileSync(join(dirname(file), prelude), 'utf8') + text : text;
}

const scripts = files.filter((f) => !isPrelude(f));
const nameBySha = new Map(scripts.map((f) => [createHash('sha1').update(scriptText(f)).digest('hex'), basename(f, '.lua')]));

/** A script's text as an EVAL shows in MONITOR (Redis quotes it as sdscatrepr does; ioredis unquotes only \"). */
function monitorForm(text: string): string {
  const named: Record<number, string> = { 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x07: '\\a', 0x08: '\\b' };
  let out = '';
  for (const byte of Buffer.from(text)) {
    out += named[byte] ?? (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`);
  }
  return out;
}
const nameByEvalText = new Map(scripts.map((f) => [monitorForm(scriptText(f)), basename(f, '.lua')]));

function tsFiles(dir: string): string[] {
  return (readdirSync(resolve(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => resolve(root, dir, f));
}

describe('Lua scripts as files', () => {
  it('finds the scripts beside their repositories', () => {
    expect(scripts.map((f) => basename(f)).sort()).toEqual(
      expect.arrayContaining(['add-to-groups.lua', 'commit-suggestions.lua', 'flush-group.lua', 'release-ledger-lock.lua', 'upsert-findings.lua']),
    );
  });

  it.each(files.map((f) => [f.slice(root.length + 1), f]))('%s opens with a header naming KEYS, ARGV and the reply', (_, file) => {
    const head = header(readFileSync(file, 'utf8'));
    expect(head).toMatch(/KEYS/);
    if (!isPrelude(file)) {
      expect(head).toMatch(/ARGV/);
      expect(head).toMatch(/Reply/);
    }
  });

  it.each(files.map((f) => [f.slice(root.length + 1), f]))('%s never names a key from ARGV or a literal', (_, file) => {
    // Catches, in branches a scenario may not reach, a key taken from ARGV or spelled in the script.
    const keyArgs = [...readFileSync(file, 'utf8').matchAll(/redis\.call\('\w+', ([^,)]+)/g)].map(([, arg]) => arg.trim());
    expect(keyArgs.filter((arg) => /^(ARGV|'|")/.test(arg))).toEqual([]);
  });

  it('leaves no Redis script in TypeScript', () => {
    const offenders = [...tsFiles('apps'), ...tsFiles('libs')].filter((f) => /redis\.call\(/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('computes cluster slots as Redis does', () => {
    // The cluster specification's own examples.
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
  });
});

interface ScriptCall {
  name: string;
  keys: string[];
  /** The commands the script ran inside Redis. */
  inner: string[][];
}

function vuln(cve: string, repository: string, digest: string): Finding {
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'report' },
    title: `${cve} in openssl`,
    severity: 'high',
    rule: { id: cve, references: [] },
    artifact: { repository, digest },
    package: { name: 'openssl', installed: '3.0.11-1', fixed: '3.0.13-1' },
    fixable: true,
    observedAt: '2026-11-23T10:00:00Z',
  });
}

describe('every script call keeps its keys in KEYS and in one cluster slot', () => {
  let redis: Redis;
  let monitor: Redis;
  let prefix: string;
  const calls: ScriptCall[] = [];

  beforeAll(async () => {
    redis = testRedis();
    prefix = testPrefix('lua');
    monitor = await testRedis().monitor();
    const done = `done ${prefix}`;
    let seen = false;
    let current: ScriptCall | undefined;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const command = args[0].toLowerCase();
      if (source === 'lua') {
        current?.inner.push(args);
      } else if (command === 'evalsha' || command === 'eval') {
        const name = command === 'eval' ? nameByEvalText.get(args[1]) : nameBySha.get(args[1]);
        const keys = args.slice(3, 3 + Number(args[2]));
        current = { name: name ?? `unknown script ${args[1].slice(0, 60)}`, keys, inner: [] };
        if (keys[0]?.startsWith(`${prefix}:`)) calls.push(current);
      } else {
        current = undefined;
        if (command === 'echo' && args[1] === done) seen = true;
      }
    });

    const findings = new FindingRepository(redis, prefix);
    const now = new Date('2026-11-23T10:00:00Z');
    const d1 = `sha256:${'1'.repeat(64)}`;
    const d2 = `sha256:${'2'.repeat(64)}`;
    const a = vuln('CVE-2026-0001', 'shop/web', d1);
    const b = vuln('CVE-2026-0002', 'shop/web', d1);
    const scope = { key: `image:${d1}`, kinds: ['vulnerability' as const] };
    await findings.upsert([{ finding: a }, { finding: b, exception: 'exc-1' }], now, 'evt-1');
    await findings.resolveScope(scope, [a.fingerprint, b.fingerprint], now, 'evt-1', { repository: 'shop/web', digest: d1 });
    // A newer report without them: resolved, by keys the script learns from the scope it replaces.
    await findings.upsert([{ finding: vuln('CVE-2026-0003', 'shop/web', d2) }], now, 'evt-2');
    await findings.resolveScope({ key: `image:${d2}`, kinds: ['vulnerability'] }, [], now, 'evt-2', { repository: 'shop/web', digest: d2 });
    await findings.recordRunning([{ repository: 'shop/web', slot: 'prod/shop/Deployment/web/app', digest: d1 }], now, 'evt-3');
    await findings.release('exc-1', new Map([[b.fingerprint, undefined]]), now, 'exception exc-1 ended', 'end-1');
    await findings.setDerived(new Map([[a.fingerprint, { risk: { score: 70, reasons: ['+20 internet-facing'] } }]]));
    await findings.resolveRecorded([a.fingerprint], now, 'recorded from an older report');
    await new AssetRepository(redis, prefix).recordAssets(
      [
        {
          type: 'image',
          digest: d1,
          repository: 'shop/web',
          tags: ['1.0'],
          labels: {},
          build: { repo: 'acme/web', commit: 'c1', pullRequests: [] },
          observedAt: now.toISOString(),
        },
        { type: 'build', repo: 'acme/web', commit: 'c1', pullRequests: [7], digests: [], observedAt: now.toISOString() },
      ],
      now,
    );
    const detection = { fingerprint: 'fp-shell', title: 'Terminal shell', rule: 'shell-in-container', severity: 'high' as const, at: now.toISOString() };
    await new AssetRepository(redis, prefix).recordSightings([], new Set(), new Map([['/shop/Deployment/web', [detection]]]), 60_000, now, now);
    await new ReportTimeRepository(redis, prefix).older([{ key: `image:${d1}`, kinds: ['vulnerability'], reportedAt: now.toISOString() }]);
    await findings.query({}, 0, 10);
    await findings.query({ state: ['open', 'resolved'], severity: ['high'], minRisk: 10 }, 0, 10);
    // A whole workload key: the findings under its name are read to keep those reported on it.
    await findings.upsert(
      [{ finding: { ...vuln('CVE-2026-0004', 'shop/web', d2), workload: { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'web' } } }],
      now,
      'evt-3',
    );
    await findings.query({ workload: ['prod/shop/Deployment/web', 'shop/web'] }, 0, 10);
    await findings.removeResolvedBefore(new Date('2026-12-31T00:00:00Z'));
    await findings.forgetStaleDigests(new Date('2026-12-31T00:00:00Z'));

    const groups = new GroupRepository(redis, prefix);
    const [timer] = await groups.add(
      ['g1', 'g2'].map((groupId) => ({
        groupId,
        route: 'root',
        labels: { group: groupId },
        groupWait: 0,
        groupInterval: 1000,
        changes: [{ change: 'new' as const, finding: a }],
      })),
      now,
    );
    await groups.flush(timer.groupId, timer.seq, now, 3_600_000);
    await groups.remove(timer.groupId);

    const evidence = { count: 1, firstSeen: now.toISOString(), lastSeen: now.toISOString(), detections: [], egress: [] };
    await new SuggestionRepository(redis, prefix).commit(
      'evt-4',
      [
        { id: 's1', rule: 'no-shell', code: { repo: 'shop/web' }, evidence, expectedVersion: 0 },
        { id: 's2', rule: 'read-only-root', evidence, expectedVersion: 0 },
      ],
      { touched: [] },
    );

    const ledger = new LedgerRepository(redis, prefix);
    await ledger.release((await ledger.hold('slack-sec', 'shop/web', 10_000, 'notification-1'))!);

    const IntakeStore = intakeStore(redis, `${prefix}:rate-limit:`);
    await new Promise((done, fail) => new IntakeStore({}).incr('falco', (error) => (error ? fail(error) : done(undefined)), 60_000, 100));

    await redis.echo(done);
    await waitFor(() => seen, 'the monitor to see the last command');
  });

  afterAll(async () => {
    await monitor.disconnect();
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  it('calls every script', () => {
    expect(new Set(calls.map((c) => c.name))).toEqual(new Set(scripts.map((f) => basename(f, '.lua'))));
  });

  it('gives every script call at least one key, all in one slot', () => {
    for (const call of calls) {
      expect(call.keys.length, call.name).toBeGreaterThan(0);
      expect(new Set(call.keys.map(keySlot)).size, `${call.name}: ${call.keys.join(' ')}`).toBe(1);
    }
  });

  it('touches only keys named in KEYS (or under a KEYS prefix, after the finding prelude or where the header names one), in the slot of KEYS', async () => {
    // A script's KEYS may hold key prefixes: the finding prelude's, or one its header calls "the prefix of …".
    const takesPrefixes = (text: string) => !!preludeOf(text) || /^-- KEYS\[\d+\]\s+the prefix of /m.test(header(text));
    const byPrelude = new Map(scripts.map((f) => [basename(f, '.lua'), takesPrefixes(readFileSync(f, 'utf8'))]));
    for (const call of calls.filter((c) => c.inner.length)) {
      const slot = keySlot(call.keys[0]);
      for (const command of call.inner) {
        const touched = await (redis.command as unknown as (...args: string[]) => Promise<string[]>).call(redis, 'GETKEYS', ...command);
        for (const key of touched) {
          const named = byPrelude.get(call.name) ? call.keys.some((k) => key.startsWith(k)) : call.keys.includes(key);
          expect(named, `${call.name}: ${command.join(' ')} touches ${key}, not in KEYS ${call.keys.join(' ')}`).toBe(true);
          expect(keySlot(key), `${call.name}: ${key}`).toBe(slot);
        }
      }
    }
  });
});
