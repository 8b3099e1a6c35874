import type { Severity } from '@klaxon/findings';
import type { SecurityContext } from '../rule-table';
import { imagePatterns, k8sName, nest, podNamePattern, podSpecPath, type PolicyTarget } from './names';
import { toYaml } from './yaml';

// Kyverno ClusterPolicy (kyverno.io/v1): https://kyverno.io/docs/writing-policies/ . Rules on Pods are
// written per workload kind by hand here, so autogen is switched off to avoid duplicate rules.

export interface PolicyMeta {
  /** The suggestion's rule id (read-only-root-filesystem). */
  id: string;
  suggestionId: string;
  title: string;
  description: string;
  severity: Severity;
  enforce: boolean;
}

type Rule = Record<string, unknown>;

function clusterPolicy(meta: PolicyMeta, target: PolicyTarget, rules: Rule[], background = true): string {
  return toYaml({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: {
      name: k8sName('klaxon', meta.id, target.workload?.namespace, target.workload?.name ?? target.image?.repository),
      annotations: {
        'policies.kyverno.io/title': meta.title,
        'policies.kyverno.io/category': 'Klaxon runtime feedback',
        'policies.kyverno.io/severity': meta.severity,
        'policies.kyverno.io/subject': 'Pod',
        'policies.kyverno.io/description': meta.description,
        'pod-policies.kyverno.io/autogen-controllers': 'none',
        'klaxon.io/suggestion': meta.suggestionId,
      },
    },
    spec: {
      // Audit first: the policy reports violations without blocking until the team opts into Enforce.
      validationFailureAction: meta.enforce ? 'Enforce' : 'Audit',
      background,
      rules,
    },
  });
}

interface Selection {
  name: string;
  match: Rule;
  preconditions?: Rule;
  /** Path of the pod spec in the matched object. */
  podSpec: string[];
}

/** The workload object itself and its pods; or, with only an image known, every pod running it. */
function selections(target: PolicyTarget): Selection[] {
  const w = target.workload;
  if (w) {
    const out: Selection[] = [];
    if (w.kind && w.kind !== 'Pod') {
      out.push({
        name: k8sName(w.kind, w.name),
        match: { any: [{ resources: { kinds: [w.kind], namespaces: [w.namespace], names: [w.name] } }] },
        podSpec: podSpecPath(w.kind),
      });
    }
    out.push({
      name: k8sName('pods', w.name),
      match: { any: [{ resources: { kinds: ['Pod'], namespaces: [w.namespace], names: [podNamePattern(w)] } }] },
      podSpec: ['spec'],
    });
    return out;
  }
  return [
    {
      name: k8sName('pods', target.image?.repository),
      match: { any: [{ resources: { kinds: ['Pod'] } }] },
      preconditions: {
        any: [{ key: '{{ request.object.spec.containers[].image }}', operator: 'AnyIn', value: imagePatterns(target.image ?? {}) }],
      },
      podSpec: ['spec'],
    },
  ];
}

function jmesPath(path: string[]): string {
  return ['request', 'object', ...path].join('.');
}

/** Requires the container securityContext fields; `capabilities.drop` is checked with a foreach (a list pattern cannot say "contains"). */
export function kyvernoSecurityContext(meta: PolicyMeta, target: PolicyTarget, securityContext: SecurityContext): string {
  const { capabilities, ...scalars } = securityContext;
  const rules: Rule[] = [];
  for (const s of selections(target)) {
    const base = { match: s.match, ...(s.preconditions ? { preconditions: s.preconditions } : {}) };
    if (Object.keys(scalars).length) {
      rules.push({
        name: k8sName(s.name, 'security-context'),
        ...base,
        validate: {
          message: `${meta.title}: every container must set securityContext ${Object.entries(scalars)
            .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
            .join(', ')}.`,
          pattern: nest(s.podSpec, { containers: [{ securityContext: scalars }] }),
        },
      });
    }
    for (const cap of capabilities?.drop ?? []) {
      rules.push({
        name: k8sName(s.name, 'drop', cap),
        ...base,
        validate: {
          message: `${meta.title}: every container must drop the ${cap} capability.`,
          foreach: [
            {
              list: `${jmesPath(s.podSpec)}.containers[]`,
              deny: {
                conditions: {
                  all: [{ key: cap, operator: 'AnyNotIn', value: '{{ element.securityContext.capabilities.drop[] || `[]` }}' }],
                },
              },
            },
          ],
        },
      });
    }
  }
  return clusterPolicy(meta, target, rules);
}

/** Denies `kubectl exec`/attach into the workload's pods (the CONNECT on pods/exec). */
export function kyvernoDenyExec(meta: PolicyMeta, target: PolicyTarget): string {
  const w = target.workload;
  const resources: Rule = { kinds: ['Pod/exec', 'Pod/attach'] };
  if (w) Object.assign(resources, { namespaces: [w.namespace], names: [podNamePattern(w)] });
  return clusterPolicy(
    meta,
    target,
    [
      {
        name: k8sName('deny-exec', w?.name ?? target.image?.repository),
        match: { any: [{ resources }] },
        preconditions: { all: [{ key: "{{ request.operation || 'BACKGROUND' }}", operator: 'Equals', value: 'CONNECT' }] },
        validate: {
          message: `${meta.title}: exec into ${w ? `${w.namespace}/${w.name}` : 'these'} pods is not allowed; use kubectl debug with an ephemeral container.`,
          deny: {},
        },
      },
    ],
    // Exec requests exist only at admission: there is nothing to scan in the background.
    false,
  );
}

/** Admits only images from the trusted registries (a Kyverno pattern with `|` alternatives). */
export function kyvernoTrustedRegistry(meta: PolicyMeta, target: PolicyTarget, registries: string[]): string {
  const pattern = registries.map((r) => `${r.replace(/\/+$/, '')}/*`).join(' | ');
  return clusterPolicy(
    meta,
    target,
    selections(target).map((s) => ({
      name: k8sName(s.name, 'trusted-registry'),
      match: s.match,
      ...(s.preconditions ? { preconditions: s.preconditions } : {}),
      validate: {
        message: `${meta.title}: images must come from ${registries.join(' or ')}.`,
        pattern: nest(s.podSpec, { containers: [{ image: pattern }] }),
      },
    })),
  );
}
