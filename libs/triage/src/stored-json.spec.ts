import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parserFor, type ReportContext } from '@klaxon/sources';
import { StoredDataError, decodeStoredJson, encodeStoredJson, findingContext } from './stored-json';

const fixture = (format: string, file: string) =>
  parserFor(format)!.parse(readFileSync(resolve(__dirname, '../../../test/fixtures', format, file), 'utf8'), {
    eventId: 'evt_t',
    receivedAt: '2024-06-13T09:00:00.000Z',
    integration: 'report',
    context: {} as ReportContext,
  }).findings;

describe('a finding report as its hash keeps it', () => {
  it('reads back exactly what was written, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        expect(decodeStoredJson(encodeStoredJson(JSON.stringify(value)))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('reads back what was written with a context, given that context, for any JSON value and context', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.string({ unit: 'binary' }), (value, context) => {
        const stored = encodeStoredJson(JSON.stringify(value), context);
        expect(stored[0]).toBe(0x03);
        expect(decodeStoredJson(stored, context)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps a finding's fingerprint and event in a few bytes when they are its context, and needs the context to read it", () => {
    for (const f of [...fixture('trivy', 'image-checkout.json'), ...fixture('alertmanager', 'firing.json'), ...fixture('falco', 'checkout-hardening.jsonl')]) {
      const json = JSON.stringify(f);
      const context = findingContext(f.fingerprint, f.source.eventId!);
      const stored = encodeStoredJson(json, context);
      expect(decodeStoredJson(stored, context)).toEqual(JSON.parse(json));
      // The fingerprint alone is 32 characters of hex that no shared dictionary holds; a match costs a few bytes.
      expect(encodeStoredJson(json).length - stored.length, f.rule.id).toBeGreaterThanOrEqual(f.fingerprint.length * 0.75);
      expect(() => decodeStoredJson(stored)).toThrow(StoredDataError);
    }
  });

  it('keeps real reports in well under two thirds of their JSON', () => {
    const findings = [...fixture('trivy', 'image-checkout.json'), ...fixture('alertmanager', 'firing.json'), ...fixture('falco', 'checkout-hardening.jsonl')];
    expect(findings.length).toBeGreaterThan(3);
    for (const f of findings) {
      const json = Buffer.byteLength(JSON.stringify(f));
      const stored = encodeStoredJson(JSON.stringify(f));
      expect(decodeStoredJson(stored)).toEqual(JSON.parse(JSON.stringify(f)));
      expect(stored[0], 'the format this version writes').toBe(0x02);
      expect(stored.length, f.rule.id).toBeLessThan(json * 0.65);
    }
  });

  it('reads what the previous version wrote: deflate with the same dictionary', () => {
    // encodeStoredJson of the previous version (format 0x01), as Redis keeps it.
    const written = Buffer.from('AUP3fVqBbiKejISZMKHegzQTjEx0zYwtzEHxkF+QmldcnKELTjVF2MKPQHGMGpTgCgfROihJTQQ1P5MzUpOz80tLlGprAQ==', 'base64');
    expect(written[0]).toBe(0x01);
    expect(decodeStoredJson(written)).toEqual({
      fingerprint: 'fp-a',
      kind: 'vulnerability',
      severity: 'high',
      title: 'CVE-2024-6387 in openssh-server',
      source: { tool: 'trivy', integration: 'report', eventId: 'evt_t' },
      labels: { team: 'checkout' },
    });
  });

  it('reads the plain JSON earlier versions stored, and refuses a format it does not know', () => {
    expect(decodeStoredJson(Buffer.from('{"fingerprint":"fp-a","title":"é"}'))).toEqual({ fingerprint: 'fp-a', title: 'é' });
    expect(() => decodeStoredJson(Buffer.from([0x09, 1, 2]))).toThrow(StoredDataError);
    expect(() => decodeStoredJson(Buffer.from([0x09, 1, 2]))).toThrow('starts with byte 9');
  });
});
