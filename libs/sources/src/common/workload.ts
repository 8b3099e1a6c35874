import { fingerprintOf, normalizeWorkload, type Asset, type Batch, type Finding } from '@klaxon/findings';

/**
 * Every batch names its workloads one way (DESIGN "one workload, many names"): by the owning
 * controller, in the configured cluster when the input names none. Applied once, where every parser's
 * batch passes, so a ReplicaSet from Trivy Operator, a pod from Falco and a Deployment from StackRox
 * meet in one finding. Scope keys keep the report's own subject: a report is complete for what it
 * scanned (a pod's policy report does not speak for its Deployment's).
 */
export function normalizeBatchWorkloads(batch: Batch, cluster: string | undefined): Batch {
  return { ...batch, findings: batch.findings.map((f) => normalizeFinding(f, cluster)), assets: batch.assets.map((a) => withCluster(a, cluster)) };
}

function normalizeFinding(finding: Finding, cluster: string | undefined): Finding {
  if (!finding.workload) return finding;
  const { workload, derived } = normalizeWorkload(finding.workload, cluster);
  if (workload === finding.workload) return finding;
  const labels = derived && !finding.labels['workload.derived'] ? { ...finding.labels, 'workload.derived': derived } : finding.labels;
  const next = { ...finding, workload, labels };
  return { ...next, fingerprint: fingerprintOf(next) };
}

function withCluster(asset: Asset, cluster: string | undefined): Asset {
  if (!cluster || asset.type === 'image' || asset.type === 'build' || asset.cluster) return asset;
  return { ...asset, cluster };
}
