import type { Finding, FindingState } from './model';

/*
 * A finding's JSON is written twice in the step that triages and routes an input: compressed into its
 * hash, and as the record its route groups carry. It is computed once per finding object and reused:
 * findings are not changed once made (a step that changes one makes a copy), so an object's JSON stays
 * its JSON. Kept by a WeakMap, so it goes when the finding does.
 */
const known = new WeakMap<Finding, string>();

/** `JSON.stringify(f)`, computed once per object. */
export function findingJson(f: Finding): string {
  let json = known.get(f);
  if (json === undefined) known.set(f, (json = JSON.stringify(f)));
  return json;
}

/**
 * `{ ...f, state }`. When `f` has no state and its JSON is already known, the copy's JSON is that JSON
 * with the state added last (where `JSON.stringify` of the copy puts it), not a second serialization.
 */
export function withState(f: Finding, state: FindingState): Finding {
  const out: Finding = { ...f, state };
  const json = f.state === undefined && !Object.hasOwn(f, 'state') ? known.get(f) : undefined;
  if (json !== undefined && json.length > 2) known.set(out, `${json.slice(0, -1)},"state":${JSON.stringify(state)}}`);
  return out;
}
