import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/* Comments cite the design by a file of docs/ and a section of it, both of which must exist. */

const root = resolve(__dirname, '../..');
const files = ['apps', 'libs', 'test', 'config'].flatMap((dir) =>
  (readdirSync(resolve(root, dir), { recursive: true }) as string[])
    .filter((f) => /\.(ts|ya?ml)$/.test(f) && !f.includes('fixtures'))
    .map((f) => resolve(root, dir, f)),
);
const outside = ['DESIGN', 'CONVENTIONS'].map((name) => `${name}.md`);

describe('citations of the design', () => {
  it('name no document outside the repository', () => {
    const offenders = files.filter((f) => outside.some((name) => readFileSync(f, 'utf8').includes(name)));
    expect(offenders.map((f) => f.slice(root.length + 1))).toEqual([]);
  });

  it('name a docs/ file and one of its sections', () => {
    const citations = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/docs\/([\w-]+\.md), "?([A-Za-z][^")]*)/g)].map(([, doc, section]) => ({
        from: f.slice(root.length + 1),
        doc,
        section,
      })),
    );
    expect(citations.length).toBeGreaterThan(5);
    const broken = citations.filter(({ doc, section }) => {
      const path = resolve(root, 'docs', doc);
      if (!existsSync(path)) return true;
      const headings = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .map((l) => l.replace(/^#+\s*/, ''));
      return !headings.includes(section.trim());
    });
    expect(broken).toEqual([]);
  });
});
