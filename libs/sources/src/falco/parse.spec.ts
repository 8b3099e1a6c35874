import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { IgnoredInput } from '../source';
import { DIGEST, fixture, meta, parseError } from '../../../../test/support/fixtures';
import { falcoParser } from './parse';

const EVENTS = fixture('falco', 'events-prod-shop.ndjson');
const parse = (raw: string) => falcoParser.parse(raw, meta({}, 'webhook:falco'));

describe('falco parser', () => {
  const batch = parse(EVENTS);
  const lines = EVENTS.trim()
    .split('\n')
    .map((l) => JSON.parse(l));

  it('turns each event of a newline-delimited batch into a runtime finding', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
    expect(batch.findings).toHaveLength(lines.length);
    expect(batch.findings.every((f) => f.kind === 'runtime' && f.stage === 'runtime' && !f.fixable)).toBe(true);
    expect(batch.scopes).toEqual([]);
  });

  it('maps every Falco priority onto a severity', () => {
    expect(batch.findings.map((f) => [f.toolSeverity, f.severity])).toEqual([
      ['Notice', 'low'],
      ['Error', 'high'],
      ['Warning', 'medium'],
      ['Critical', 'critical'],
      ['Informational', 'low'],
      ['Debug', 'info'],
    ]);
  });

  it('finds the image and the workload from the output fields, saying when the Deployment was derived', () => {
    const shell = batch.findings[0];
    expect(shell).toMatchObject({
      rule: { id: 'Terminal shell in container', tags: ['maturity_stable', 'container', 'shell', 'mitre_execution', 'T1059'] },
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      workload: { namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c5b6f4-x2k8p', container: 'checkout' },
      labels: { 'workload.derived': 'deployment name from the pod name', 'falco.source': 'syscall' },
      observedAt: '2026-11-23T09:20:00.123456789Z',
    });
    expect(shell.raw).toMatchObject({ output: lines[0].output, 'proc.cmdline': 'bash', 'user.name': 'root' });
    expect(batch.findings[1].raw).toMatchObject({ 'fd.name': '/usr/bin/curl', 'proc.pcmdline': 'sh -c cp /tmp/curl /usr/bin/curl' });
  });

  it('makes a restarted pod of the same workload the same finding (the fingerprint ignores the pod)', () => {
    const again = { ...lines[0], output_fields: { ...lines[0].output_fields, 'k8s.pod.name': 'checkout-7d9c5b6f4-zz9qq' } };
    expect(parse(JSON.stringify(again)).findings[0].fingerprint).toBe(batch.findings[0].fingerprint);
  });

  it('copes with a missing digest, host events without Kubernetes fields, unicode and very long command lines', () => {
    expect(batch.findings[2].artifact).toEqual({ registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: undefined });
    expect(batch.findings[2].description).toContain('影子文件');
    expect(String(batch.findings[3].raw!['proc.cmdline']).length).toBeGreaterThan(6000);
    const host = batch.findings[4];
    expect(host.workload).toBeUndefined();
    expect(host.title).toBe('Packet socket created in container on ip-10-20-3-17');
    expect(host.rule.tags).toEqual([]);
    // A pod name without a ReplicaSet hash is kept as the Pod.
    expect(batch.findings[5].workload).toMatchObject({ kind: 'Pod', name: 'debug' });
  });

  it('reads the falcosidekick payload and acknowledges its test event', () => {
    const sidekick = parse(fixture('falco', 'falcosidekick-shell.json'));
    expect(sidekick.findings).toHaveLength(1);
    expect(sidekick.findings[0].raw!.uuid).toBe('6f1c3e9a-2b4d-4c8e-9f0a-1b2c3d4e5f60');
    expect(sidekick.findings[0].fingerprint).toBe(batch.findings[0].fingerprint);
    expect(() => parse(fixture('falco', 'sidekick-test.json'))).toThrow(IgnoredInput);
  });

  it('is detected, and rejects an unknown priority or a broken line naming it', () => {
    expect(detectFormat(fixture('falco', 'falcosidekick-shell.json'))).toBe('falco');
    expect(parseError(() => parse(fixture('falco', 'bad-priority.json'))).path).toBe('priority');
    const broken = `${EVENTS.split('\n')[0]}\n{"rule": "x", "priority": \n`;
    expect(parseError(() => parse(broken)).path).toBe('line 2');
    expect(parseError(() => parse(`${EVENTS.split('\n')[0]}\n{"priority":"Error","output":"x"}`)).path).toBe('line 2.rule');
  });
});
