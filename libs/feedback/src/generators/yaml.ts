import { stringify } from 'yaml';

/** Kubernetes YAML as kubectl writes it: block style, no line folding, no anchors. */
export function toYaml(document: unknown): string {
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Several documents in one file, `---` between them, an optional comment header. */
export function toYamlDocuments(documents: unknown[], header?: string[]): string {
  const body = documents.map(toYaml).join('---\n');
  return header?.length ? `${header.map((l) => `# ${l}`).join('\n')}\n${body}` : body;
}
