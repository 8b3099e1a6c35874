import type { SecurityContext } from '../rule-table';
import { apiVersionOf, nest, podSpecPath, type PolicyTarget } from './names';
import { toYaml } from './yaml';

/** The volume name for a writable path: `/tmp` → `tmp`, `/var/cache/nginx` → `var-cache-nginx`. */
function volumeName(path: string): string {
  return (
    path
      .replace(/^\/+/, '')
      .replace(/[^a-zA-Z0-9]+/g, '-')
      .toLowerCase()
      .slice(0, 63) || 'scratch'
  );
}

/**
 * A strategic-merge patch for the workload (`kubectl patch <kind> <name> -n <ns> --patch-file …`): the
 * container's securityContext and an emptyDir per path the app must still write once the root
 * filesystem is read-only. Without a known workload, the container snippet to put in the manifest.
 */
export function securityContextPatch(target: PolicyTarget, securityContext: SecurityContext, emptyDirs: string[]): string {
  const mounts = securityContext.readOnlyRootFilesystem ? emptyDirs : [];
  const container: Record<string, unknown> = {
    name: target.workload?.container ?? target.workload?.name ?? 'app',
    securityContext,
  };
  if (mounts.length) container.volumeMounts = mounts.map((path) => ({ name: volumeName(path), mountPath: path }));
  const podSpec: Record<string, unknown> = { containers: [container] };
  if (mounts.length) podSpec.volumes = mounts.map((path) => ({ name: volumeName(path), emptyDir: {} }));
  const w = target.workload;
  if (!w) return toYaml(podSpec);
  const kind = w.kind ?? 'Deployment';
  return toYaml({
    apiVersion: apiVersionOf(kind),
    kind,
    metadata: { name: w.name, namespace: w.namespace },
    ...nest(podSpecPath(kind), podSpec),
  });
}
