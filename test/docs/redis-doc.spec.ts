import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * docs/redis.md lists every key family the code uses, and only those. A family is what a key says
 * after the prefix up to its first variable part: `<prefix>:event:<id>:raw` and `${this.prefix}:event:${id}`
 * are both `event`; `<prefix>:{findings}:findings:seen` is `{findings}:findings:seen`.
 */

const root = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return (readdirSync(resolve(root, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => resolve(root, dir, f));
}

const family = (rest: string) => rest.replace(/:+$/, '');

/** Key families as the repositories spell them. */
function codeFamilies(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of [...sourceFiles('apps'), ...sourceFiles('libs')]) {
    let text = readFileSync(file, 'utf8');
    // A store under a hash tag builds its keys from `this.base` (aliased `b`) = `${prefix}:{tag}`.
    const tag = /this\.base = `\$\{prefix\}:(\{[\w-]+\})`/.exec(text)?.[1];
    if (tag) text = text.replace(/\$\{(?:this\.base|b)\}/g, `\${this.prefix}:${tag}`);
    for (const [, rest] of text.matchAll(/`\$\{(?:this\.)?prefix\}:([^`]*)`/g)) {
      const name = family(rest.split('${')[0]);
      if (name && !/^\{[\w-]+\}$/.test(name)) found.set(name, file.slice(root.length + 1));
    }
    // The asset graph's builder: this.k('image', digest) is `graph:image`.
    for (const [, args] of text.matchAll(/this\.k\(([^)]*)\)/g)) {
      const literals: string[] = [];
      for (const arg of args.split(',').map((a) => a.trim())) {
        const literal = /^'([^']+)'$/.exec(arg)?.[1];
        if (!literal) break;
        literals.push(literal);
      }
      if (literals.length) found.set(`graph:${literals.join(':')}`, file.slice(root.length + 1));
    }
  }
  return found;
}

/** Key families as docs/redis.md lists them: the keys in the first cell of its table rows. */
function documentedFamilies(): Set<string> {
  const doc = readFileSync(resolve(root, 'docs/redis.md'), 'utf8');
  const names = new Set<string>();
  for (const row of doc.split('\n').filter((l) => l.startsWith('| `<prefix>:'))) {
    const cell = row.split(' | ')[0];
    for (const [, rest] of cell.matchAll(/`<prefix>:([^`]*)`/g)) names.add(family(rest.split('<')[0].replace(/…$/, '')));
  }
  return names;
}

describe('docs/redis.md', () => {
  const code = codeFamilies();
  const documented = documentedFamilies();

  it('finds the key families of the code and of the page', () => {
    expect(code.size).toBeGreaterThan(20);
    expect([...documented]).toEqual(expect.arrayContaining(['event', '{findings}:finding', '{groups}:group', 'graph:image', 'bull']));
  });

  it('documents every key family the code uses', () => {
    // `graph` (the builder itself) is documented through its families `graph:<kind>`.
    const missing = [...code].filter(([name]) => !documented.has(name) && ![...documented].some((d) => d.startsWith(`${name}:`)));
    expect(missing.map(([name, file]) => `${name} (${file})`)).toEqual([]);
  });

  it('documents no key family the code no longer uses', () => {
    expect([...documented].filter((name) => !code.has(name))).toEqual([]);
  });
});
