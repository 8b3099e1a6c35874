/** Deeper than any format Klaxon reads (SARIF, the deepest, stays under 20); deeper is hostile. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when the JSON text (or newline-delimited JSON) nests arrays/objects deeper than `limit`. One
 * pass, nothing allocated: a million `[` are refused before JSON.parse builds a million-deep object
 * that every recursive walk after it (zod, structuredClone) would overflow on. Brackets inside strings
 * do not count; the text need not be valid JSON (the parser says so later). Most of a report is string
 * content, which indexOf crosses at native speed to the next quote not escaped.
 */
export function nestsDeeperThan(raw: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(raw, i);
      if (end === -1) return false; // unterminated: the rest is one string
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth = Math.max(0, depth - 1);
  }
  return false;
}

/** Index of the quote closing the string opened at `open`: the first one after an even run of backslashes; -1 if none. */
function stringEnd(raw: string, open: number): number {
  let end = raw.indexOf('"', open + 1);
  while (end !== -1) {
    let backslashes = 0;
    while (raw.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = raw.indexOf('"', end + 1);
  }
  return -1;
}
