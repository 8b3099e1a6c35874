import { z } from 'zod';
import { SEVERITIES } from './severity';

export const FINDING_KINDS = ['vulnerability', 'misconfiguration', 'compliance', 'policy', 'runtime', 'code', 'secret', 'suggestion'] as const;
export const STAGES = ['build', 'registry', 'deploy', 'runtime'] as const;
export const FINDING_STATES = ['open', 'resolved', 'suppressed'] as const;

export const severitySchema = z.enum(SEVERITIES);
export const findingKindSchema = z.enum(FINDING_KINDS);
export const stageSchema = z.enum(STAGES);
export const findingStateSchema = z.enum(FINDING_STATES);

export const sourceRefSchema = z.object({
  /** The tool that produced the finding: trivy, grype, falco, kyverno, … */
  tool: z.string(),
  /** How it reached Klaxon: report upload, harbor webhook, collector, … */
  integration: z.string(),
  /** Klaxon's event id of the raw input. */
  eventId: z.string().optional(),
  toolVersion: z.string().optional(),
});

export const ruleSchema = z.object({
  /** CVE id, Falco rule, policy name, SARIF rule id, check id. */
  id: z.string(),
  name: z.string().optional(),
  references: z.array(z.string()).default([]),
  /** Highest CVSS base score the tool reports, when it reports one. */
  cvss: z.number().optional(),
  /** Known exploitation (CISA KEV or a tool's exploit flag). */
  exploited: z.boolean().optional(),
  epss: z.number().optional(),
  tags: z.array(z.string()).optional(),
});

export const artifactSchema = z.object({
  registry: z.string().optional(),
  /** Repository without registry host or tag: `shop/checkout`. */
  repository: z.string().optional(),
  tag: z.string().optional(),
  /** Manifest digest `sha256:…` (the one a registry and a pod spec name). */
  digest: z.string().optional(),
});

export const packageSchema = z.object({
  name: z.string(),
  ecosystem: z.string().optional(),
  installed: z.string().optional(),
  fixed: z.string().optional(),
  purl: z.string().optional(),
  path: z.string().optional(),
});

export const workloadSchema = z.object({
  cluster: z.string().optional(),
  namespace: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  pod: z.string().optional(),
  container: z.string().optional(),
});

export const codeSchema = z.object({
  repo: z.string().optional(),
  commit: z.string().optional(),
  branch: z.string().optional(),
  pullRequest: z.number().int().optional(),
  path: z.string().optional(),
  line: z.number().int().optional(),
  partialFingerprint: z.string().optional(),
});

export const riskSchema = z.object({
  score: z.number().min(0).max(100),
  reasons: z.array(z.string()),
});

export const findingSchema = z.object({
  fingerprint: z.string(),
  kind: findingKindSchema,
  stage: stageSchema,
  source: sourceRefSchema,
  title: z.string(),
  description: z.string().optional(),
  severity: severitySchema,
  /** The tool's own word for the severity (`HIGH`, `Critical`, `Warning`, `UNKNOWN`). */
  toolSeverity: z.string().optional(),
  rule: ruleSchema,
  /**
   * For a runtime finding, what happened in Klaxon's words (`shell-in-container`, behaviour.ts) when the
   * sensor's event is one it knows: two sensors reporting one behaviour meet in one finding.
   */
  behaviour: z.string().optional(),
  artifact: artifactSchema.optional(),
  package: packageSchema.optional(),
  workload: workloadSchema.optional(),
  code: codeSchema.optional(),
  fixable: z.boolean(),
  remediation: z.string().optional(),
  observedAt: z.string(),
  labels: z.record(z.string()).default({}),
  /** Fields of the tool's own record that a destination may quote. */
  raw: z.record(z.unknown()).optional(),
  // Derived at triage.
  state: findingStateSchema.optional(),
  environment: z.string().optional(),
  exposure: z.string().optional(),
  risk: riskSchema.optional(),
});

export const imageAssetSchema = z.object({
  type: z.literal('image'),
  digest: z.string(),
  registry: z.string().optional(),
  repository: z.string().optional(),
  tags: z.array(z.string()).default([]),
  labels: z.record(z.string()).default({}),
  /** Where it was built from, when the input says (OCI labels, report context). */
  build: z
    .object({
      repo: z.string().optional(),
      commit: z.string().optional(),
      branch: z.string().optional(),
      pullRequests: z.array(z.number().int()).default([]),
    })
    .optional(),
  observedAt: z.string(),
});

export const buildAssetSchema = z.object({
  type: z.literal('build'),
  repo: z.string(),
  commit: z.string(),
  branch: z.string().optional(),
  pullRequests: z.array(z.number().int()).default([]),
  digests: z.array(z.string()).default([]),
  url: z.string().optional(),
  observedAt: z.string(),
});

/** A container's securityContext as the pod spec states it (container settings over pod defaults). */
export const containerSecuritySchema = z.object({
  privileged: z.boolean().optional(),
  runAsNonRoot: z.boolean().optional(),
  runAsUser: z.number().int().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  capabilities: z.object({ add: z.array(z.string()).default([]), drop: z.array(z.string()).default([]) }).optional(),
});

/** Pod-level facts that widen what a compromised container can reach. */
export const podSecuritySchema = z.object({
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  /** Paths of hostPath volumes. */
  hostPaths: z.array(z.string()).default([]),
  runAsNonRoot: z.boolean().optional(),
  runAsUser: z.number().int().optional(),
  serviceAccount: z.string().optional(),
  /** True when any container is privileged. */
  privileged: z.boolean().optional(),
  /** Union of the capabilities any container adds. */
  capabilitiesAdded: z.array(z.string()).default([]),
});

export const workloadAssetSchema = z.object({
  type: z.literal('workload'),
  cluster: z.string().optional(),
  namespace: z.string(),
  kind: z.string(),
  name: z.string(),
  labels: z.record(z.string()).default({}),
  containers: z
    .array(
      z.object({
        name: z.string(),
        image: z.string(),
        digest: z.string().optional(),
        security: containerSecuritySchema.optional(),
      }),
    )
    .default([]),
  /** Labels of the pods it runs (the pod template's), which Service selectors match. */
  podLabels: z.record(z.string()).optional(),
  security: podSecuritySchema.optional(),
  /** For a Pod: the workload that owns it (`derived` when inferred from a ReplicaSet name). */
  controller: z.object({ kind: z.string(), name: z.string(), derived: z.boolean().optional() }).optional(),
  /** The cluster no longer has it (the collector saw it deleted). */
  deleted: z.boolean().optional(),
  observedAt: z.string(),
});

export const serviceAssetSchema = z.object({
  type: z.literal('service'),
  cluster: z.string().optional(),
  namespace: z.string(),
  name: z.string(),
  /** ClusterIP, NodePort, LoadBalancer, ExternalName. */
  serviceType: z.string(),
  selector: z.record(z.string()).default({}),
  ports: z
    .array(
      z.object({
        name: z.string().optional(),
        port: z.number().int(),
        targetPort: z.union([z.number().int(), z.string()]).optional(),
        nodePort: z.number().int().optional(),
        protocol: z.string().optional(),
      }),
    )
    .default([]),
  /** Addresses a LoadBalancer got (status.loadBalancer.ingress ip or hostname). */
  externalAddresses: z.array(z.string()).default([]),
  labels: z.record(z.string()).default({}),
  deleted: z.boolean().optional(),
  observedAt: z.string(),
});

export const ingressAssetSchema = z.object({
  type: z.literal('ingress'),
  cluster: z.string().optional(),
  namespace: z.string(),
  name: z.string(),
  ingressClassName: z.string().optional(),
  hosts: z.array(z.string()).default([]),
  tls: z.boolean().default(false),
  backends: z
    .array(
      z.object({ service: z.string(), port: z.union([z.number().int(), z.string()]).optional(), host: z.string().optional(), path: z.string().optional() }),
    )
    .default([]),
  labels: z.record(z.string()).default({}),
  deleted: z.boolean().optional(),
  observedAt: z.string(),
});

export const namespaceAssetSchema = z.object({
  type: z.literal('namespace'),
  cluster: z.string().optional(),
  name: z.string(),
  /** All its labels; `environment`, `team`, `owner` are the ones correlation reads. */
  labels: z.record(z.string()).default({}),
  deleted: z.boolean().optional(),
  observedAt: z.string(),
});

/** Facts about images, builds, workloads and what exposes them (services, ingresses, namespaces). */
export const assetSchema = z.discriminatedUnion('type', [
  imageAssetSchema,
  buildAssetSchema,
  workloadAssetSchema,
  serviceAssetSchema,
  ingressAssetSchema,
  namespaceAssetSchema,
]);

/**
 * What an input is a complete report of. `key` names the subject (`image:sha256:…`,
 * `resource:prod/Deployment/shop/checkout`), `kinds` which finding kinds it is complete for.
 */
export const scopeSchema = z.object({
  key: z.string(),
  kinds: z.array(findingKindSchema),
  /** When the tool made the report (its own clock): reports of one scope apply in this order, not arrival order. */
  reportedAt: z.string().optional(),
});

/**
 * More to fetch about an input, from the system that sent it: a Harbor scan webhook carries only a
 * summary, so its batch asks for the full report (`kind: 'harbor-report'`). The ingest step hands each
 * one to the collector's queue for its kind; the fetched document comes back in as an input of its own.
 */
export const followUpSchema = z.object({
  kind: z.string(),
  params: z.record(z.string()),
});

/**
 * One control of a compliance standard as one input saw it on one cluster (and namespace, where the
 * standard is judged per namespace): passes count as much as failures, so the compliance view can say
 * "passing" and not only "nothing reported". `findings` are the fingerprints of the failures it raised.
 */
export const controlResultSchema = z.object({
  standard: z.object({ id: z.string(), title: z.string() }),
  control: z.object({ id: z.string(), title: z.string(), severity: severitySchema.optional() }),
  cluster: z.string().optional(),
  namespace: z.string().optional(),
  status: z.enum(['pass', 'fail', 'warn']),
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  findings: z.array(z.string()).default([]),
  remediation: z.string().optional(),
  observedAt: z.string(),
});

export const batchSchema = z.object({
  findings: z.array(findingSchema),
  assets: z.array(assetSchema).default([]),
  scopes: z.array(scopeSchema).default([]),
  followUps: z.array(followUpSchema).optional(),
  controls: z.array(controlResultSchema).optional(),
});

export type FindingKind = z.infer<typeof findingKindSchema>;
export type Stage = z.infer<typeof stageSchema>;
export type FindingState = z.infer<typeof findingStateSchema>;
export type SourceRef = z.infer<typeof sourceRefSchema>;
export type Rule = z.infer<typeof ruleSchema>;
export type Artifact = z.infer<typeof artifactSchema>;
export type Package = z.infer<typeof packageSchema>;
export type Workload = z.infer<typeof workloadSchema>;
export type Code = z.infer<typeof codeSchema>;
export type Risk = z.infer<typeof riskSchema>;
export type Finding = z.infer<typeof findingSchema>;
export type ImageAsset = z.infer<typeof imageAssetSchema>;
export type BuildAsset = z.infer<typeof buildAssetSchema>;
export type WorkloadAsset = z.infer<typeof workloadAssetSchema>;
export type ContainerSecurity = z.infer<typeof containerSecuritySchema>;
export type PodSecurity = z.infer<typeof podSecuritySchema>;
export type ServiceAsset = z.infer<typeof serviceAssetSchema>;
export type IngressAsset = z.infer<typeof ingressAssetSchema>;
export type NamespaceAsset = z.infer<typeof namespaceAssetSchema>;
export type Asset = z.infer<typeof assetSchema>;
export type Scope = z.infer<typeof scopeSchema>;
export type Batch = z.infer<typeof batchSchema>;
export type FollowUp = z.infer<typeof followUpSchema>;
export type ControlResult = z.infer<typeof controlResultSchema>;

/** A finding as a parser builds it: the fingerprint is computed from it, not chosen by the parser. */
export type FindingDraft = Omit<Finding, 'fingerprint' | 'labels' | 'rule'> & {
  labels?: Record<string, string>;
  rule: Omit<Rule, 'references'> & { references?: string[] };
};
