import { describe, expect, it } from 'vitest';
import { fixture, meta, parseError } from '../../../../test/support/fixtures';
import { detectFormat, parseInput, yamlFormats } from '../registry';
import { isYamlMediaType, yamlToJson } from './yaml-document';

const parse = (raw: string, format?: string) => parseInput(raw, format, meta()).batch;

describe('Kubernetes documents as YAML', () => {
  it('reads a PolicyReport as kubectl prints it exactly as its JSON', () => {
    const json = yamlToJson(fixture('policyreport', 'kyverno-v1alpha2-prod-shop.yaml'));
    expect(JSON.parse(json)).toEqual(JSON.parse(fixture('policyreport', 'kyverno-v1alpha2-prod-shop.json')));
    expect(detectFormat(json)).toBe('policyreport');
    expect(parse(json, 'policyreport')).toEqual(parse(fixture('policyreport', 'kyverno-v1alpha2-prod-shop.json'), 'policyreport'));
  });

  it('reads a List of Trivy Operator reports, and several documents as one List', () => {
    const list = parse(yamlToJson(fixture('trivy-operator', 'reports-list.yaml')), 'trivy-operator');
    expect(list.findings.map((f) => f.kind).sort()).toEqual(
      [
        ...parse(fixture('trivy-operator', 'vulnerabilityreport-checkout.json')).findings,
        ...parse(fixture('trivy-operator', 'configauditreport-checkout.json')).findings,
      ]
        .map((f) => f.kind)
        .sort(),
    );
    const docs = `${fixture('policyreport', 'kyverno-v1alpha2-prod-shop.yaml')}---\n${fixture('policyreport', 'kyverno-v1alpha2-prod-shop-fixed.json')}`;
    expect(JSON.parse(yamlToJson(docs))).toMatchObject({ kind: 'List', items: [{ kind: 'PolicyReport' }, { kind: 'PolicyReport' }] });
  });

  it.each([
    ['an anchor and its alias', fixture('policyreport', 'anchors.yaml'), /anchors are not accepted \(&checkout\)/],
    ['an alias alone', 'kind: List\nitems: *all\n', /not valid YAML|aliases are not accepted/],
    ['a language tag', 'kind: Pod\ndata: !!binary aGVsbG8=\n', /tag tag:yaml.org,2002:binary is not accepted/],
    ['a custom tag', 'kind: Pod\nmetadata: !ruby/object {}\n', /not valid YAML|tag .* is not accepted/],
    ['a duplicate key', 'kind: Pod\nkind: Service\n', /not valid YAML/],
    ['broken YAML', 'kind: [Pod\n', /not valid YAML/],
    ['no document', '# nothing\n', /holds no document/],
  ])('refuses %s, naming the body', (_what, raw, message) => {
    const err = parseError(() => yamlToJson(raw));
    expect(err.path).toBe('body');
    expect(err.message).toMatch(message);
  });

  it('is read for the Kubernetes resources only, under the YAML media types', () => {
    expect(yamlFormats().sort()).toEqual(['kubernetes', 'policyreport', 'trivy-operator']);
    expect(['application/yaml', 'application/x-yaml; charset=utf-8', 'text/yaml'].every(isYamlMediaType)).toBe(true);
    expect(isYamlMediaType('application/json')).toBe(false);
  });
});
