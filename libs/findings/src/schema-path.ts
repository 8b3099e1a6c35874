import { z } from 'zod';
import { MatcherSyntaxError, parseMatcher, type Matcher } from './matcher';

/**
 * A zod issue path as people write it (`Results[0].Vulnerabilities[3].PkgName`); empty for the root.
 * Every error that names a field of a document, a config file or a request is spelled by this.
 */
export function issuePath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** A matcher string (`severity >= high`), parsed at the edge; errors name the matcher's path. */
export const matcherSchema = z.string().transform((text, ctx): Matcher => {
  try {
    return parseMatcher(text);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: err instanceof MatcherSyntaxError ? err.message : String(err) });
    return z.NEVER;
  }
});
