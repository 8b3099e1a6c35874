import type { Egress } from '../evidence';
import { k8sName, type PolicyTarget } from './names';
import { toYaml } from './yaml';

function cidr(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/**
 * A NetworkPolicy that allows the egress observed (and DNS) and, by selecting the pods for Egress,
 * denies everything else. Destinations seen only by detections marked `egress: deny` (C2, miner pools)
 * are left out and named in the review note. Always marked for review: observation is not intent.
 */
export function observedEgressNetworkPolicy(
  target: PolicyTarget,
  egress: Egress[],
  window: { from: string; to: string },
  suggestionId: string,
): string | undefined {
  const w = target.workload;
  if (!w) return undefined;
  const allowed = egress.filter((e) => !e.denied).sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
  const denied = egress.filter((e) => e.denied);
  const byDestination = new Map<string, Egress[]>();
  for (const e of allowed) byDestination.set(e.ip, [...(byDestination.get(e.ip) ?? []), e]);
  const review = [
    `required: built from egress observed between ${window.from} and ${window.to}`,
    'confirm each destination is legitimate and that the pod selector matches the workload',
    ...(denied.length ? [`left out as not legitimate: ${denied.map((e) => `${e.ip}:${e.port}/${e.protocol}`).join(', ')}`] : []),
  ].join('; ');
  return toYaml({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: k8sName(w.name, 'observed-egress'),
      namespace: w.namespace,
      annotations: { 'klaxon.io/review': review, 'klaxon.io/suggestion': suggestionId },
    },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': w.name } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        ...[...byDestination.entries()].map(([ip, list]) => ({
          to: [{ ipBlock: { cidr: cidr(ip) } }],
          ports: list.map((e) => ({ protocol: e.protocol, port: e.port })),
        })),
      ],
    },
  });
}
