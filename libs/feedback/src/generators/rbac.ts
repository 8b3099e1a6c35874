import { k8sName, type PolicyTarget } from './names';
import { toYamlDocuments } from './yaml';

/**
 * RBAC only grants, so restricting exec means: nobody's everyday Role includes pods/exec, and a
 * break-glass Role bound to a small group does. The header says how to find the grants to remove.
 */
export function execBreakGlassRbac(target: PolicyTarget): string | undefined {
  const w = target.workload;
  if (!w) return undefined;
  const name = k8sName(w.name, 'exec-break-glass');
  const group = k8sName(w.namespace, 'break-glass');
  return toYamlDocuments(
    [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace: w.namespace, annotations: { 'klaxon.io/review': 'bind only people on call for this workload' } },
        rules: [{ apiGroups: [''], resources: ['pods/exec', 'pods/attach'], verbs: ['create', 'get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: w.namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
      },
    ],
    [
      `Remove pods/exec and pods/attach from every other Role and ClusterRole bound in ${w.namespace};`,
      `find them with: kubectl get rolebindings,clusterrolebindings -A -o wide, and check with`,
      `kubectl auth can-i create pods/exec -n ${w.namespace} --as=<user>.`,
    ],
  );
}
