import { ParseError, refuseDeepNesting } from '../source';

/**
 * The JSON documents of a body: one object (or an array of them), or one per line as Falco and
 * Tetragon export them. A broken line is named by its number.
 */
export function jsonLines(raw: string): { value: unknown; path: string }[] {
  const trimmed = raw.trim();
  if (trimmed === '') throw new ParseError('the body is empty');
  refuseDeepNesting(trimmed);
  let whole: Error;
  try {
    const value = JSON.parse(trimmed);
    return Array.isArray(value) ? value.map((v, i) => ({ value: v, path: `[${i}]` })) : [{ value, path: '' }];
  } catch (err) {
    whole = err as Error;
  }
  const lines = raw
    .split('\n')
    .map((l, i) => ({ text: l.trim(), line: i + 1 }))
    .filter((l) => l.text !== '');
  if (lines.length < 2) throw new ParseError(`not valid JSON (${whole.message})`);
  return lines.map(({ text, line }) => {
    try {
      return { value: JSON.parse(text), path: `line ${line}` };
    } catch (err) {
      throw new ParseError(`not valid JSON (${(err as Error).message})`, `line ${line}`);
    }
  });
}
