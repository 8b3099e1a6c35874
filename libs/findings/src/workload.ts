import type { Workload } from './model';

/*
 * One workload, one name. Tools name the same Deployment by its ReplicaSet (Trivy Operator scans
 * ReplicaSets), by a pod (Falco, Alertmanager) or by itself (StackRox, Tetragon), with or without the
 * cluster. Findings and suggestions are keyed by the owning controller, so every variant is mapped to it.
 *
 * Controllers name what they create so that the names read back:
 * - a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`: the template's FNV-32a hash in decimal,
 *   each digit encoded by k8s.io/apimachinery/pkg/util/rand SafeEncodeString, so 1–10 of `bcdf456789`;
 * - a ReplicaSet's (a Job's, a DaemonSet's) pod is `<owner>-<5 characters of the rand alphabet>`
 *   (no vowels, no 0/1/3);
 * - a CronJob's Job is `<cronjob>-<scheduled time in minutes since the epoch>`: 8 digits today, and one of
 *   them 0–3, which no pod-template-hash has.
 * A bare ReplicaSet or pod could be named so by hand: a name read this way is marked derived.
 */
const RAND = '[bcdfghjklmnpqrstvwxz2456789]';
const HASH = '[bcdf4-9]{1,10}';
const SCHEDULE = '(?=\\d{8,10}(?:-|$))\\d*[0-3]\\d*';
const REPLICASET_OF_DEPLOYMENT = new RegExp(`^(.+)-${HASH}$`);
const POD_OF_REPLICASET = new RegExp(`^(.+-${HASH})-${RAND}{5}$`);
const JOB_OF_CRONJOB = new RegExp(`^(.+)-${SCHEDULE}$`);
const POD_OF_JOB_OF_CRONJOB = new RegExp(`^(.+-${SCHEDULE})-${RAND}{5}$`);

export interface Owner {
  kind: string;
  name: string;
  /** True when read from the name's shape rather than stated by the input (an ownerReference). */
  derived: boolean;
}

/** The controller at the top of a resource's owner chain, as far as its name tells; itself otherwise. */
export function ownerOf(kind: string | undefined, name: string): Owner | undefined {
  switch (kind) {
    case 'ReplicaSet': {
      const deployment = REPLICASET_OF_DEPLOYMENT.exec(name)?.[1];
      return deployment ? { kind: 'Deployment', name: deployment, derived: true } : undefined;
    }
    case 'Job': {
      const cronJob = JOB_OF_CRONJOB.exec(name)?.[1];
      return cronJob ? { kind: 'CronJob', name: cronJob, derived: true } : undefined;
    }
    case 'Pod': {
      const job = POD_OF_JOB_OF_CRONJOB.exec(name)?.[1];
      if (job) return ownerOf('Job', job);
      const replicaSet = POD_OF_REPLICASET.exec(name)?.[1];
      return replicaSet ? ownerOf('ReplicaSet', replicaSet) : undefined;
    }
    default:
      return undefined;
  }
}

/** The Deployment a pod name belongs to (`checkout-7d9f8c6b5d-x2x9p` → `checkout`), when its shape says so. */
export function deploymentOfPod(podName: string): string | undefined {
  const owner = ownerOf('Pod', podName);
  return owner?.kind === 'Deployment' ? owner.name : undefined;
}

export interface NormalizedWorkload {
  workload: Workload;
  /** How the name was read, when it was (`deployment name from the pod name`), for the finding's labels. */
  derived?: string;
}

/**
 * A workload named by its owning controller, in the given cluster when it names none. Idempotent:
 * a controller's name is never read again. `cluster` is the configured one (`sources.kubernetes.clusterName`).
 */
export function normalizeWorkload(workload: Workload, cluster?: string): NormalizedWorkload {
  const filled: Workload = workload.cluster || !cluster ? workload : { ...workload, cluster };
  const named = filled.name ?? (filled.kind === undefined || filled.kind === 'Pod' ? filled.pod : undefined);
  if (!named) return { workload: filled };
  const kind = filled.kind ?? (filled.pod ? 'Pod' : undefined);
  const owner = ownerOf(kind, named);
  if (!owner) return { workload: filled };
  return {
    workload: { ...filled, kind: owner.kind, name: owner.name, ...(kind === 'Pod' ? { pod: filled.pod ?? named } : {}) },
    derived: `${owner.kind.toLowerCase()} name from the ${kind!.toLowerCase()} name`,
  };
}
