import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { kubernetes } from './client';

/** One kind the collector watches: where its list and watch live, and which parser reads it. */
export interface WatchedResource {
  apiVersion: string;
  kind: string;
  /** Collection path for list and watch, across all namespaces. */
  path: string;
  /** Parser format of its documents in libs/sources. */
  format: 'kubernetes' | 'policyreport' | 'trivy-operator';
  namespaced: boolean;
  list(kc: KubeConfig): Promise<KubernetesListObject<KubernetesObject>>;
}

type List = KubernetesListObject<KubernetesObject>;

function custom(group: string, version: string, plural: string, kind: string, format: WatchedResource['format'], namespaced = true): WatchedResource {
  return {
    apiVersion: `${group}/${version}`,
    kind,
    path: `/apis/${group}/${version}/${plural}`,
    format,
    namespaced,
    // A CRD may be missing from the cluster (Kyverno or Trivy Operator not installed): the informer's
    // error handler reports it and retries, the other kinds carry on.
    list: (kc) => kc.makeApiClient(kubernetes().CustomObjectsApi).listClusterCustomObject({ group, version, plural }) as Promise<List>,
  };
}

/**
 * Everything the collector reads from a cluster. Lists of built-in kinds leave apiVersion and kind off
 * their items (the API server's TypeMeta rule), so the collector puts them back from this table.
 */
export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    path: '/api/v1/namespaces',
    format: 'kubernetes',
    namespaced: false,
    list: (kc) => kc.makeApiClient(kubernetes().CoreV1Api).listNamespace() as Promise<List>,
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    path: '/api/v1/pods',
    format: 'kubernetes',
    namespaced: true,
    list: (kc) => kc.makeApiClient(kubernetes().CoreV1Api).listPodForAllNamespaces() as Promise<List>,
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    path: '/api/v1/services',
    format: 'kubernetes',
    namespaced: true,
    list: (kc) => kc.makeApiClient(kubernetes().CoreV1Api).listServiceForAllNamespaces() as Promise<List>,
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    path: '/apis/apps/v1/deployments',
    format: 'kubernetes',
    namespaced: true,
    list: (kc) => kc.makeApiClient(kubernetes().AppsV1Api).listDeploymentForAllNamespaces() as Promise<List>,
  },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    path: '/apis/apps/v1/statefulsets',
    format: 'kubernetes',
    namespaced: true,
    list: (kc) => kc.makeApiClient(kubernetes().AppsV1Api).listStatefulSetForAllNamespaces() as Promise<List>,
  },
  {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    path: '/apis/apps/v1/daemonsets',
    format: 'kubernetes',
    namespaced: true,
    list: (kc) => kc.makeApiClient(kubernetes().AppsV1Api).listDaemonSetForAllNamespaces() as Promise<List>,
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    path: '/apis/networking.k8s.io/v1/ingresses',
    format: 'kubernetes',
    namespaced: true,
    list: (kc) => kc.makeApiClient(kubernetes().NetworkingV1Api).listIngressForAllNamespaces() as Promise<List>,
  },
  custom('wgpolicyk8s.io', 'v1alpha2', 'policyreports', 'PolicyReport', 'policyreport'),
  custom('wgpolicyk8s.io', 'v1alpha2', 'clusterpolicyreports', 'ClusterPolicyReport', 'policyreport', false),
  custom('aquasecurity.github.io', 'v1alpha1', 'vulnerabilityreports', 'VulnerabilityReport', 'trivy-operator'),
  custom('aquasecurity.github.io', 'v1alpha1', 'configauditreports', 'ConfigAuditReport', 'trivy-operator'),
  custom('aquasecurity.github.io', 'v1alpha1', 'clustercompliancereports', 'ClusterComplianceReport', 'trivy-operator', false),
];
