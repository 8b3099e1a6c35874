import { describe, expect, it } from 'vitest';
import { SOAK_REPOSITORIES, soak } from '../bench/soak';

/**
 * The CI-sized soak (`npm run bench -- soak` pushes 200,000): reports keep opening new findings and
 * resolving the previous digest's; with retention applied, what stays is what is open, and Redis
 * memory ends below its peak instead of growing with every report.
 */
describe('retention under a steady stream of reports', () => {
  it('keeps only the open findings once resolved ones age out', { timeout: 300_000 }, async () => {
    const perReport = 200;
    const samples = await soak(12, perReport);
    const last = samples[samples.length - 1];
    console.info(`soak: ${samples.map((s) => `${s.findings}:${s.stored}:${(s.usedMemory / 1048576).toFixed(1)}MB`).join(' ')}`);
    expect(last.findings).toBe(12 * perReport);
    expect(last.stored).toBe(SOAK_REPOSITORIES * perReport);
    expect(last.resolved).toBe(0);
    expect(last.usedMemory).toBeLessThan(Math.max(...samples.map((s) => s.usedMemory)));
  });
});
