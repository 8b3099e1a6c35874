import type { Batch } from '@klaxon/findings';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from './source';
import type { Integration, SourcesConfig } from './integration';
import { trivyParser } from './trivy/parse';
import { policyReportParser } from './policyreport/parse';
import { trivyOperatorParser } from './trivy-operator/parse';
import { kubeBenchParser } from './kube-bench/parse';
import { kubernetesParser } from './kubernetes/parse';
import { falcoParser } from './falco/parse';
import { falcoIntegration, falcosidekickIntegration } from './falco/integration';
import { tetragonParser } from './tetragon/parse';
import { tetragonIntegration } from './tetragon/integration';
import { stackroxParser } from './stackrox/parse';
import { stackroxIntegration } from './stackrox/integration';
import { alertmanagerParser } from './alertmanager/parse';
import { alertmanagerIntegration } from './alertmanager/integration';
import { harborIntegration } from './harbor/integration';
import { harborParser } from './harbor/parse';
import { harborReportParser } from './harbor/report';
import { quayParser } from './quay/parse';
import { quayIntegration } from './quay/integration';
import { githubParser } from './github/parse';
import { githubIntegration } from './github/integration';
import { gitlabParser } from './gitlab/parse';
import { gitlabIntegration } from './gitlab/integration';
import { sarifParser } from './sarif/parse';
import { grypeParser } from './grype/parse';
import { distributionParser } from './distribution/parse';
import { registryIntegration } from './distribution/integration';
import { normalizeBatchWorkloads } from './common/workload';

/** Format name → parser. The only place that lists them: adding a format is a folder plus one line here. */
export const PARSERS: readonly SourceParser[] = [
  trivyParser,
  policyReportParser,
  trivyOperatorParser,
  kubeBenchParser,
  kubernetesParser,
  falcoParser,
  tetragonParser,
  stackroxParser,
  alertmanagerParser,
  harborParser,
  harborReportParser,
  quayParser,
  githubParser,
  gitlabParser,
  sarifParser,
  grypeParser,
  distributionParser,
];

/** Webhook senders (`POST /v1/webhooks/{name}`), listed here and nowhere else. */
export const INTEGRATIONS: readonly Integration[] = [
  falcoIntegration,
  falcosidekickIntegration,
  tetragonIntegration,
  stackroxIntegration,
  alertmanagerIntegration,
  harborIntegration,
  quayIntegration,
  githubIntegration,
  gitlabIntegration,
  registryIntegration,
];

const INTEGRATION_BY_NAME = new Map(INTEGRATIONS.map((i) => [i.name, i]));

export function integrationFor(name: string): Integration | undefined {
  return INTEGRATION_BY_NAME.get(name);
}

/**
 * Integrations that, as configured, take a request that presents nothing at all: their senders are
 * not authenticated (no token set). Said at start-up, since their events feed risk and can page.
 */
export function openIntegrations(sources: SourcesConfig): string[] {
  return INTEGRATIONS.filter((i) => i.authenticate({ headers: {}, raw: '', query: {} }, sources) === undefined).map((i) => i.name);
}

export function integrations(): string[] {
  return [...INTEGRATION_BY_NAME.keys()];
}

const BY_FORMAT = new Map(PARSERS.map((p) => [p.format, p]));

export function formats(): string[] {
  return [...BY_FORMAT.keys()];
}

/** Formats also read from a YAML body: the Kubernetes resources. */
export function yamlFormats(): string[] {
  return PARSERS.filter((p) => p.readsYaml).map((p) => p.format);
}

export function parserFor(format: string): SourceParser | undefined {
  return BY_FORMAT.get(format);
}

/** Names the format of a JSON document, or undefined when no parser recognises it. */
export function detectFormat(raw: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return PARSERS.find((p) => p.detect(doc))?.format;
}

/** Parses a raw input in the named format (or the detected one when format is undefined), workloads named one way. */
export function parseInput(raw: string, format: string | undefined, meta: SourceMeta): { format: string; batch: Batch } {
  const name = format ?? detectFormat(raw);
  if (!name) {
    parseJson(raw);
    throw new ParseError(`format not recognised; pass ?format= one of ${formats().join(', ')}`, 'format');
  }
  const parser = parserFor(name);
  if (!parser) throw new ParseError(`unknown format "${name}"; one of ${formats().join(', ')}`, 'format');
  return { format: name, batch: normalizeBatchWorkloads(parser.parse(raw, meta), meta.cluster) };
}
