import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';

const FIXTURES = resolve(__dirname, '../fixtures');
/** Formats whose fixtures live under another folder name. */
const FOLDER: Record<string, string> = { 'harbor-report': 'harbor', registry: 'distribution' };

/** The real fixtures of a format, as text: the seeds every hostile input is mutated from. */
export function fixturesOf(format: string): string[] {
  const dir = resolve(FIXTURES, FOLDER[format] ?? format);
  return readdirSync(dir)
    .filter((f) => /\.(json|jsonl|ndjson)$/.test(f))
    .map((f) => readFileSync(resolve(dir, f), 'utf8'));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

function pathsOf(value: Json, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.slice(0, 20).forEach((v, i) => pathsOf(v, [...path, i], out));
  else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => pathsOf(v, [...path, k], out));
  return out;
}

function setAt(root: Json, path: Path, value: Json | undefined): Json {
  if (!path.length) return value ?? null;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
  return copy as Json;
}

const HUGE = 'A'.repeat(300_000);
const deep = (depth: number): Json => (depth === 0 ? 1 : [deep(depth - 1)]);

/** A value of the wrong type, or of the right type and hostile. */
export const hostileValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constant(undefined), // the field removed
  fc.constant(null),
  fc.boolean(),
  fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER * 4), fc.constant(-1)),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates, controls
  fc.constantFrom('', HUGE, 'shop/checkout\nresolved:last', '\u0000', '\uD800', '../../etc/passwd', '${jndi:ldap://x}', 'sha256:' + 'g'.repeat(64)),
  fc.constantFrom(deep(40), deep(70)),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }) as fc.Arbitrary<Json>,
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<Json>,
);

/** Text-level damage that no JSON value can express. */
const textDamage = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('duplicate-key' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('garbage' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), text: fc.string({ unit: 'binary', maxLength: 20 }) }),
  fc.record({ kind: fc.constant('deep-text' as const), depth: fc.constantFrom(65, 1000, 200_000) }),
);

function damage(text: string, d: Damage): string {
  const cut = (at: number) => Math.floor(at * text.length);
  switch (d.kind) {
    case 'truncate':
      return text.slice(0, cut(d.at));
    case 'duplicate-key': {
      // The same key twice in one object: JSON.parse keeps the last, so the hostile value goes last.
      const match = /\{\s*("(?:[^"\\]|\\.)*")\s*:/.exec(text);
      if (!match) return text;
      const close = text.lastIndexOf('}');
      return close < 0 ? text : `${text.slice(0, close)}, ${match[1]}: ${JSON.stringify(d.value)}${text.slice(close)}`;
    }
    case 'garbage':
      return `${text.slice(0, cut(d.at))}${d.text}${text.slice(cut(d.at))}`;
    case 'deep-text':
      return `{"a":${'['.repeat(d.depth)}${']'.repeat(d.depth)}}`;
  }
}
type Damage =
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate-key'; value: unknown }
  | { kind: 'garbage'; at: number; text: string }
  | { kind: 'deep-text'; depth: number };

/** A hostile input derived from one of `seeds`: a few fields replaced or removed, maybe damaged as text. */
export function hostileFrom(seeds: string[]): fc.Arbitrary<string> {
  return fc
    .record({
      seed: fc.nat({ max: seeds.length - 1 }),
      edits: fc.array(fc.tuple(fc.nat(), hostileValue), { minLength: 1, maxLength: 3 }),
      damage: fc.option(textDamage as fc.Arbitrary<Damage>, { freq: 3 }),
    })
    .map(({ seed, edits, damage: d }) => {
      const text = seeds[seed];
      const lines = text.trim().split('\n');
      // NDJSON seeds are mutated line by line; JSON seeds as one document.
      const docs = lines.length > 1 && lines.every((l) => l.trim().startsWith('{')) ? lines : [text];
      const mutated = docs.map((doc, i) => {
        let value: Json;
        try {
          value = JSON.parse(doc) as Json;
        } catch {
          return doc; // a broken fixture stays broken: text damage only
        }
        for (const [pick, replacement] of i === 0 ? edits : []) {
          const paths = pathsOf(value);
          value = setAt(value, paths[pick % paths.length], replacement);
        }
        return JSON.stringify(value) ?? 'null';
      });
      const out = mutated.join('\n');
      return d ? damage(out, d) : out;
    });
}
