import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs every `*.bench.ts` beside this file (or those whose names contain an argument:
 * `npm run bench -- pipeline`). Each exports `run(): Promise<string[]>`, the lines of its report.
 */
async function main() {
  const filters = process.argv.slice(3);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !filters.length || filters.some((name) => f.includes(name)))
    .sort();
  for (const file of files) {
    const bench = (await import(join(__dirname, file))) as { run(): Promise<string[]> };
    const started = performance.now();
    const lines = await bench.run();
    console.log(`\n## ${file.replace('.bench.ts', '')} (${Math.round(performance.now() - started)} ms)\n${lines.join('\n')}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
