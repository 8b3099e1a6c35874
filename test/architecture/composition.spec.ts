import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Classes declared in `*.usecase.ts` files, in libs and apps: `new` of one of them is wiring. */
function useCaseClasses(): string[] {
  return [...sources(join(root, 'libs')), ...sources(join(root, 'apps'))]
    .filter((file) => file.endsWith('.usecase.ts'))
    .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/export class (\w+)/g)].map((m) => m[1]));
}

/**
 * Where objects may be wired by hand: Nest module files (their factory providers), the composition
 * root that starts the apps (apps/klaxon), and tests. Everywhere else in apps/ they are injected.
 */
function isWiringPlace(file: string): boolean {
  const path = relative(root, file);
  return path.endsWith('.module.ts') || path.endsWith('.spec.ts') || path.startsWith('apps/klaxon/');
}

describe('wiring in apps/', () => {
  it('finds the use case classes it guards', () => {
    expect(useCaseClasses()).toEqual(expect.arrayContaining(['TriageBatch', 'CorrelateFindings', 'FeedbackSuggestions']));
  });

  it('builds no repository, store or use case outside modules, tests and the composition root', () => {
    const names = useCaseClasses();
    const constructed = new RegExp(`new (\\w+(?:Repository|UseCase|Store)|${names.join('|')})\\(`, 'g');
    const found = sources(join(root, 'apps'))
      .filter((file) => !isWiringPlace(file))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => [...line.matchAll(constructed)].map((m) => `${relative(root, file)}:${i + 1}: new ${m[1]}(`)),
      );
    expect(found).toEqual([]);
  });
});

describe('layers', () => {
  it('libs/platform imports no Klaxon library but findings', () => {
    const imports = sources(join(root, 'libs/platform/src'))
      .filter((file) => !file.endsWith('.spec.ts'))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/from '(@klaxon\/[\w-]+)'/g)].map((m) => `${relative(root, file)}: ${m[1]}`))
      .filter((line) => !line.endsWith('@klaxon/findings'));
    expect(imports).toEqual([]);
  });
});
