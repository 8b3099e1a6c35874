import { soak } from './soak';

const REPORTS = Number(process.env.SOAK_REPORTS ?? 200);
const PER_REPORT = Number(process.env.SOAK_PER_REPORT ?? 1_000);

/** `npm run bench -- soak`: 200,000 findings through the pipeline with short retention; Redis memory as it goes. */
export async function run(): Promise<string[]> {
  const every = Math.max(1, Math.floor(REPORTS / 20));
  const rows: string[] = ['| findings pushed | stored now | used_memory |', '| ---: | ---: | ---: |'];
  const samples = await soak(REPORTS, PER_REPORT, (s) => {
    if ((s.findings / PER_REPORT) % every === 0) console.log(`  ${s.findings} findings, ${s.stored} stored, ${(s.usedMemory / 1048576).toFixed(1)} MB`);
  });
  samples.forEach((s, i) => {
    if (i % every === every - 1 || i === samples.length - 1) {
      rows.push(`| ${s.findings.toLocaleString('en-US')} | ${s.stored.toLocaleString('en-US')} | ${(s.usedMemory / 1048576).toFixed(1)} MB |`);
    }
  });
  return rows;
}
