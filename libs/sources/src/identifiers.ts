import type { Batch } from '@klaxon/findings';
import { issuePath as zodPath } from '@klaxon/findings';

/** C0 and C1 controls, DEL, and the JavaScript line separators: never part of a name Klaxon keys state by. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Fields of a finding that name things (images, workloads, code, packages): keys of indexes and scopes. */
const FINDING_IDENTIFIERS = ['artifact', 'workload', 'code', 'package'] as const;
/** Keys of an asset whose values identify something; labels and annotations are free text. */
const ASSET_IDENTIFIERS = new Set([
  'digest',
  'registry',
  'repository',
  'tag',
  'tags',
  'cluster',
  'namespace',
  'kind',
  'name',
  'pod',
  'container',
  'repo',
  'commit',
  'branch',
  'host',
  'hosts',
  'service',
]);

function controlIn(value: unknown, path: (string | number)[], keys?: Set<string>): string | undefined {
  if (typeof value === 'string') return CONTROL.test(value) ? zodPath(path) : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = controlIn(value[i], [...path, i], keys);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (keys && typeof child !== 'object' && !keys.has(key)) continue;
      if (keys && typeof child === 'object' && (key === 'labels' || key === 'annotations')) continue;
      const found = controlIn(child, [...path, key], keys);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The path of the first identifier in a parsed batch that holds a control character (a newline in an
 * image repository would address another index's key), or undefined when all are clean.
 */
export function controlCharacterField(batch: Batch): string | undefined {
  for (let i = 0; i < batch.findings.length; i++) {
    const finding = batch.findings[i];
    for (const group of FINDING_IDENTIFIERS) {
      const found = controlIn(finding[group], ['findings', i, group]);
      if (found) return found;
    }
    const rule = controlIn(finding.rule.id, ['findings', i, 'rule', 'id']);
    if (rule) return rule;
  }
  const asset = controlIn(batch.assets, ['assets'], ASSET_IDENTIFIERS);
  if (asset) return asset;
  for (let i = 0; i < batch.scopes.length; i++) {
    const found = controlIn(batch.scopes[i].key, ['scopes', i, 'key']);
    if (found) return found;
  }
  return undefined;
}
