import { fingerprintOf, normalizeWorkload, type Asset, type Batch, type Finding, type NormalizedWorkload, type Workload } from '@klaxon/findings';

/**
 * Every batch names its workloads one way (DESIGN "one workload, many names"): by the owning
 * controller, in the configured cluster when the input names none. Applied once, where every parser's
 * batch passes, so a ReplicaSet from Trivy Operator, a pod from Falco and a Deployment from StackRox
 * meet in one finding. Scope keys keep the report's own subject: a report is complete for what it
 * scanned (a pod's policy report does not speak for its Deployment's).
 */
export function normalizeBatchWorkloads(batch: Batch, cluster: string | undefined): Batch {
  // A report's findings share their workload object: each distinct one is read once.
  const seen = new Map<Workload, NormalizedWorkload>();
  const normalize = (w: Workload) => seen.get(w) ?? seen.set(w, normalizeWorkload(w, cluster)).get(w)!;
  return {
    ...batch,
    findings: batch.findings.map((f) => (f.workload ? normalizeFinding(f, normalize(f.workload)) : f)),
    assets: batch.assets.map((a) => withCluster(a, cluster)),
  };
}

function normalizeFinding(finding: Finding, { workload, derived }: NormalizedWorkload): Finding {
  if (workload === finding.workload) return finding;
  const labels = derived && !finding.labels['workload.derived'] ? { ...finding.labels, 'workload.derived': derived } : finding.labels;
  const next = { ...finding, workload, labels };
  return { ...next, fingerprint: fingerprintOf(next) };
}

function withCluster(asset: Asset, cluster: string | undefined): Asset {
  if (!cluster || asset.type === 'image' || asset.type === 'build' || asset.cluster) return asset;
  return { ...asset, cluster };
}
