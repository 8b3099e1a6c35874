import { describe, expect, it } from 'vitest';
import type { Finding } from '@klaxon/findings';
import { parseInput } from '../registry';
import { fixture, meta } from '../../../../test/support/fixtures';

const parse = (format: string, dir: string, name: string): Finding[] =>
  parseInput(fixture(dir, name), format, { ...meta({}, `webhook:${format}`), cluster: 'prod-eu-1' }).batch.findings;
const byRule = (findings: Finding[], rule: string) => findings.find((f) => f.rule.id === rule)!;

describe('one event, two sensors', () => {
  const falco = parse('falco', 'falco', 'events-prod-shop.ndjson');
  const falcoShell = parse('falco', 'falco', 'shell-from-java.json')[0];
  const stackroxShell = parse('stackrox', 'stackrox', 'runtime-alert.json')[0];
  const tetragon = parse('tetragon', 'tetragon', 'events-prod-shop.ndjson');
  const tetragonWrite = parse('tetragon', 'tetragon', 'write-below-binary-dir.json')[0];

  it('the shell Java spawned, seen by Falco and StackRox, is one finding', () => {
    // The fixtures describe one exec: same container, binary and second.
    const process = (stackroxShell.raw!.processes as { execFilePath: string }[])[0];
    expect(falcoShell.raw).toMatchObject({ 'container.id': '3b2f1c0e9d8a', 'proc.exepath': process.execFilePath });
    expect(Math.abs(Date.parse(falcoShell.observedAt) - Date.parse('2026-11-23T09:50:00Z'))).toBeLessThan(1000);
    expect(falcoShell.rule.id).not.toBe(stackroxShell.rule.id);
    expect(falcoShell).toMatchObject({ behaviour: 'shell-in-container', workload: { namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' } });
    expect(stackroxShell.behaviour).toBe('shell-in-container');
    expect(falcoShell.fingerprint).toBe(stackroxShell.fingerprint);
  });

  it('the write of /usr/bin/curl, seen by Falco and Tetragon, is one finding', () => {
    const falcoWrite = byRule(falco, 'Write below binary dir');
    expect(tetragonWrite.raw).toMatchObject({ binary: '/usr/bin/cp', function_name: 'security_file_permission' });
    expect(Math.abs(Date.parse(falcoWrite.observedAt) - Date.parse(tetragonWrite.observedAt))).toBeLessThan(1000);
    expect([falcoWrite.behaviour, tetragonWrite.behaviour]).toEqual(['write-below-binary-dir', 'write-below-binary-dir']);
    expect(falcoWrite.fingerprint).toBe(tetragonWrite.fingerprint);
  });

  it('a read of /etc/shadow is the same behaviour for Falco and Tetragon, and apart from the write', () => {
    const falcoRead = byRule(falco, 'Read sensitive file untrusted');
    const tetragonRead = tetragon.find((f) => f.raw?.function_name === 'security_file_permission')!;
    expect([falcoRead.behaviour, tetragonRead.behaviour]).toEqual(['read-sensitive-file', 'read-sensitive-file']);
    expect(falcoRead.fingerprint).toBe(tetragonRead.fingerprint);
    expect(falcoRead.fingerprint).not.toBe(tetragonWrite.fingerprint);
  });

  it('keeps different behaviours, and events Klaxon has no word for, apart', () => {
    const terminal = byRule(falco, 'Terminal shell in container');
    expect(terminal.behaviour).toBe('shell-in-container');
    const curl = tetragon.find((f) => f.rule.id === 'process_exec:/usr/bin/curl')!;
    expect(curl.behaviour).toBeUndefined();
    const ptrace = falco.find((f) => f.rule.id.includes('ptrace'));
    const all = [terminal, byRule(falco, 'Write below binary dir'), byRule(falco, 'Read sensitive file untrusted'), curl, ...(ptrace ? [ptrace] : [])];
    expect(new Set(all.map((f) => f.fingerprint)).size).toBe(all.length);
  });
});
