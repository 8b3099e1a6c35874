import type { Artifact, Workload } from '@klaxon/findings';

/** A Kubernetes object name (RFC 1123 label: lower-case alphanumerics and '-', at most 63). */
export function k8sName(...parts: (string | undefined)[]): string {
  const name = parts
    .filter((p): p is string => !!p)
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return name.slice(0, 63).replace(/-$/, '') || 'klaxon';
}

/** What a policy is about: one workload, or every pod running one image repository. */
export interface PolicyTarget {
  workload?: Required<Pick<Workload, 'namespace' | 'name'>> & Workload;
  image?: Artifact;
}

export function targetFor(workload: Workload | undefined, image: Artifact | undefined): PolicyTarget {
  if (workload?.namespace && workload.name) return { workload: { ...workload, namespace: workload.namespace, name: workload.name }, image };
  return { image };
}

/** Pods of a controller are named `<name>-…` (Deployment pods `<name>-<hash>-<id>`). */
export function podNamePattern(workload: { name: string; kind?: string }): string {
  return workload.kind === 'Pod' ? workload.name : `${workload.name}-*`;
}

/** Where the pod spec sits in a workload object, as a path of keys. */
export function podSpecPath(kind: string | undefined): string[] {
  switch (kind) {
    case 'Pod':
    case undefined:
      return ['spec'];
    case 'CronJob':
      return ['spec', 'jobTemplate', 'spec', 'template', 'spec'];
    default:
      return ['spec', 'template', 'spec'];
  }
}

export function apiVersionOf(kind: string | undefined): string {
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return 'apps/v1';
    case 'Job':
    case 'CronJob':
      return 'batch/v1';
    default:
      return 'v1';
  }
}

/** Nests `leaf` under `path` (`['spec','template','spec']`). */
export function nest(path: string[], leaf: Record<string, unknown>): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), leaf);
}

/** Image references a wildcard pattern accepts for a repository (with or without registry host). */
export function imagePatterns(image: Artifact): string[] {
  const repo = image.repository ?? '';
  return image.registry ? [`${image.registry}/${repo}*`] : [`${repo}*`, `*/${repo}*`];
}
