import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParsedInputs } from './parsed-inputs';

describe('ParsedInputs', () => {
  it('keeps nothing in a process without an ingest worker', () => {
    const inputs = new ParsedInputs<string>();
    inputs.put('evt_1', 'batch', 10);
    expect(inputs.take('evt_1')).toBeUndefined();
  });

  it('hands an input over once: a retried job parses the stored body', () => {
    const inputs = new ParsedInputs<string>();
    inputs.enable();
    inputs.put('evt_1', 'batch', 10);
    expect(inputs.take('evt_1')).toBe('batch');
    expect(inputs.take('evt_1')).toBeUndefined();
  });

  it('drops an input not taken in time (its job ran in another process)', () => {
    let now = 0;
    const inputs = new ParsedInputs<string>(1_000, 30_000, () => now);
    inputs.enable();
    inputs.put('evt_1', 'batch', 10);
    now = 30_001;
    expect(inputs.take('evt_1')).toBeUndefined();
    inputs.put('evt_2', 'batch', 10);
    now = 60_002;
    inputs.put('evt_3', 'batch', 10);
    expect(inputs.size).toBe(1);
  });

  it('when full, keeps what it holds (the next jobs to run) and not the newest input', () => {
    const inputs = new ParsedInputs<string>(1_000);
    inputs.enable();
    inputs.put('evt_1', 'first', 600);
    inputs.put('evt_2', 'second', 600);
    expect(inputs.take('evt_2')).toBeUndefined();
    expect(inputs.take('evt_1')).toBe('first');
  });

  it('never holds more findings than its bound, whatever is put and taken, and gives back only what was put', () => {
    const op = fc.oneof(
      fc.record({ put: fc.integer({ min: 0, max: 9 }), findings: fc.integer({ min: 0, max: 700 }) }),
      fc.record({ take: fc.integer({ min: 0, max: 9 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const inputs = new ParsedInputs<string>(1_000);
        inputs.enable();
        const model = new Map<string, string>();
        let version = 0;
        for (const o of ops) {
          if ('put' in o) {
            const value = `v${version++}`;
            inputs.put(`evt_${o.put}`, value, o.findings);
            model.set(`evt_${o.put}`, value);
          } else {
            const got = inputs.take(`evt_${o.take}`);
            // Evicted early is allowed (the worker parses the body); a stale or foreign value never is.
            if (got !== undefined) expect(got).toBe(model.get(`evt_${o.take}`));
            model.delete(`evt_${o.take}`);
          }
          expect(inputs.findingsHeld).toBeLessThanOrEqual(1_000);
        }
      }),
      { numRuns: 500 },
    );
  });
});
