/** Deeper than any format Klaxon reads (SARIF, the deepest, stays under 20); deeper is hostile. */
export const MAX_JSON_DEPTH = 64;

/**
 * True when the JSON text (or newline-delimited JSON) nests arrays/objects deeper than `limit`. One
 * pass over the characters, nothing allocated: a million `[` are refused before JSON.parse builds a
 * million-deep object that every recursive walk after it (zod, structuredClone) would overflow on.
 * Brackets inside strings do not count; the text need not be valid JSON (the parser says so later).
 */
export function nestsDeeperThan(raw: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth = Math.max(0, depth - 1);
  }
  return false;
}
