import { isAlias, isNode, parseAllDocuments, visit, type Document } from 'yaml';
import { ParseError } from '../source';

/** Media types a YAML body comes as (RFC 9512 registers application/yaml; the others are still sent). */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

export function isYamlMediaType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  return !!type && YAML_MEDIA_TYPES.includes(type);
}

/** The YAML 1.2 core schema's own tags: an explicit one of these changes nothing a Kubernetes object holds. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

function refuse(message: string): never {
  throw new ParseError(message, 'body');
}

function check(doc: Document.Parsed): void {
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) refuse(`not valid YAML (${problem.message.split('\n')[0]})`);
  visit(doc, (_key, node) => {
    if (isAlias(node)) refuse(`YAML aliases are not accepted (*${node.source}); send the document with every value written out`);
    if (isNode(node) && node.anchor) refuse(`YAML anchors are not accepted (&${node.anchor}); send the document with every value written out`);
    if (isNode(node) && node.tag && !CORE_TAGS.has(node.tag)) refuse(`YAML tag ${node.tag} is not accepted; Kubernetes documents need none`);
  });
}

/**
 * A Kubernetes document posted as YAML (`kubectl get policyreport -o yaml`), as the JSON it denotes.
 * Read with the YAML 1.2 core schema and nothing more: no custom or language tags (`!!binary`, `!foo`),
 * no anchors or aliases (a Kubernetes object never needs them, and they are how a small body expands into
 * a huge one), no duplicate keys. Several documents (`---`) become one `List`, as kubectl would print them.
 */
export function yamlToJson(raw: string): string {
  const docs = parseAllDocuments(raw, { schema: 'core', merge: false, uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) refuse('the YAML body holds no document');
  for (const doc of docs) check(doc);
  const values = docs.map((doc) => doc.toJS({ maxAliasCount: 0 }) as unknown).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) refuse('the YAML body holds no document');
  return JSON.stringify(values.length === 1 ? values[0] : { apiVersion: 'v1', kind: 'List', items: values });
}
