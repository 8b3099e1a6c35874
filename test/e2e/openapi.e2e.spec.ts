import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';

interface Operation {
  parameters?: { name: string; in: string; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string; type?: string; properties?: object } }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

/** A schema that says something: a reference to a component with properties, or properties inline. */
function described(doc: Document, schema: { $ref?: string; properties?: object } | undefined): boolean {
  if (!schema) return false;
  if (schema.$ref) return Object.keys(doc.components.schemas[schema.$ref.split('/').pop()!]?.properties ?? {}).length > 0;
  return Object.keys(schema.properties ?? {}).length > 0;
}

describe('/docs/openapi.json', () => {
  let klaxon: TestKlaxon;
  let doc: Document;
  const operations = () =>
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, method, op })));

  beforeAll(async () => {
    klaxon = await startTestKlaxon('routes: {}\n');
    const res = await fetch(`${klaxon.url}/docs/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
  });
  afterAll(() => klaxon?.close());

  it('lists the /v1 endpoints', () => {
    const names = operations().map((o) => o.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /v1/reports',
        'POST /v1/gate',
        'POST /v1/webhooks/{integration}',
        'GET /v1/findings',
        'GET /v1/findings/{fingerprint}',
        'POST /v1/exceptions',
        'POST /v1/routes/test',
        'POST /v1/suggestions/{id}/adopt',
        'POST /v1/quarantine/{id}/replay',
        'POST /v1/dead-letters/{id}/replay',
        'GET /v1/risk/workloads',
      ]),
    );
  });

  it('gives every /v1 endpoint a JSON response schema with its fields', () => {
    const missing = operations().filter(({ op }) => {
      const ok = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
      return !ok.length || !ok.every(([, r]) => described(doc, r.content?.['application/json']?.schema));
    });
    expect(missing.map((o) => o.name)).toEqual([]);
  });

  it('gives every /v1 POST a request body schema, JSON bodies with their fields', () => {
    const posts = operations().filter((o) => o.method === 'post' && !o.name.endsWith('/replay') && !o.name.endsWith('/adopt'));
    const missing = posts.filter(({ op }) => !op.requestBody || !Object.values(op.requestBody.content).every((c) => c.schema));
    expect(missing.map((o) => o.name)).toEqual([]);
    for (const name of ['POST /v1/exceptions', 'POST /v1/routes/test']) {
      const op = posts.find((o) => o.name === name)!.op;
      expect(described(doc, op.requestBody!.content['application/json'].schema as never), name).toBe(true);
    }
  });

  it('describes the query of the list endpoints', () => {
    const findings = operations().find((o) => o.name === 'GET /v1/findings')!.op;
    expect(findings.parameters?.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(
      expect.arrayContaining(['state', 'minSeverity', 'limit', 'offset']),
    );
  });
});
