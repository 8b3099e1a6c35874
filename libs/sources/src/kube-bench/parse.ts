import { toFinding, type Batch, type ControlResult, type Finding, type Severity, type Workload } from '@klaxon/findings';
import { z } from 'zod';
import { ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { isObject, validateAt } from '../common/document';
import { clusterOf } from '../kubernetes/object';

// kube-bench's JSON (aquasecurity/kube-bench check/controls.go and check/check.go): `--json` writes
// `{Controls: [...], Totals: {...}}`; older releases wrote one Controls object per target, one per line.
const checkSchema = z
  .object({
    test_number: z.string().min(1),
    test_desc: z.string().default(''),
    audit: z.string().optional(),
    type: z.string().optional(),
    remediation: z.string().optional(),
    test_info: z.array(z.string()).nullish(),
    status: z.enum(['PASS', 'FAIL', 'WARN', 'INFO']),
    actual_value: z.string().optional(),
    scored: z.boolean().optional(),
    expected_result: z.string().optional(),
    reason: z.string().optional(),
  })
  .passthrough();

const groupSchema = z
  .object({ section: z.string(), type: z.string().optional(), desc: z.string().optional(), results: z.array(checkSchema).nullish() })
  .passthrough();

const controlsSchema = z
  .object({
    id: z.string(),
    version: z.string().optional(),
    detected_version: z.string().optional(),
    text: z.string().optional(),
    node_type: z.string().optional(),
    tests: z.array(groupSchema).nullish(),
  })
  .passthrough();

type Controls = z.infer<typeof controlsSchema>;
type Group = z.infer<typeof groupSchema>;
type Check = z.infer<typeof checkSchema>;

const FINDING_STATUSES = new Set(['FAIL', 'WARN']);

/** Every Controls object in any of the shapes kube-bench has written, with its path for errors. */
function controlsOf(raw: string): { value: unknown; path: string }[] {
  let document: unknown;
  try {
    document = JSON.parse(raw);
  } catch (err) {
    const lines = raw.split('\n').filter((l) => l.trim() !== '');
    if (lines.length < 2) return [{ value: parseJson(raw), path: '' }];
    return lines.map((line, i) => {
      try {
        return { value: JSON.parse(line), path: `line ${i + 1}` };
      } catch (e) {
        throw new ParseError(`not valid JSON (${(e as Error).message})`, `line ${i + 1}`);
      }
    });
  }
  if (Array.isArray(document)) return document.map((value, i) => ({ value, path: `[${i}]` }));
  if (isObject(document) && 'Controls' in document) {
    if (!Array.isArray(document.Controls)) throw new ParseError('expected an array', 'Controls');
    return document.Controls.map((value, i) => ({ value, path: `Controls[${i}]` }));
  }
  if (isObject(document) && 'tests' in document) return [{ value: document, path: '' }];
  throw new ParseError('not a kube-bench report: expected Controls[] or a controls object with tests[]', 'Controls');
}

function severityOf(check: Check): Severity {
  if (check.status === 'WARN') return 'low';
  return check.scored === false ? 'medium' : 'high';
}

/**
 * kube-bench runs on one node and its JSON does not name it: the node comes from the upload context
 * (`node`) when given, otherwise the benchmark target (master, node, etcd, …) stands for the resource.
 */
function targetOf(controls: Controls, meta: SourceMeta): Workload {
  const node = (meta.context as Record<string, unknown>).node;
  if (typeof node === 'string' && node) return { cluster: clusterOf(meta), kind: 'Node', name: node };
  return { cluster: clusterOf(meta), kind: 'NodeType', name: controls.node_type || controls.id };
}

function ruleId(controls: Controls, check: Check): string {
  return controls.version ? `${controls.version}/${check.test_number}` : check.test_number;
}

/**
 * A run is complete for its benchmark on its target: a check that now passes (or is gone) resolves. Triage
 * fills a scope with every finding of its kinds in the batch, so a partial run (`--check 1.2.7`) resolves
 * the checks it left out: upload full runs.
 */
export function complianceScopeKey(target: Workload, controls: { id: string; version?: string }): string {
  return `resource:${[target.cluster ?? '', '', target.kind, target.name].join('/')}#compliance:kube-bench:${controls.version ?? ''}/${controls.id}`;
}

function finding(check: Check, group: Group, controls: Controls, target: Workload, meta: SourceMeta): Finding {
  const id = ruleId(controls, check);
  return toFinding({
    kind: 'compliance',
    stage: 'deploy',
    source: { tool: 'kube-bench', integration: meta.integration, eventId: meta.eventId },
    title: `CIS ${check.test_number} ${check.test_desc}`.trim(),
    description: check.reason || (check.test_info ?? []).filter((t) => t !== check.remediation).join('\n') || undefined,
    severity: severityOf(check),
    toolSeverity: check.status,
    rule: { id, name: check.test_desc, tags: [controls.version, group.section].filter((t): t is string => !!t) },
    workload: target,
    fixable: true,
    remediation: check.remediation,
    observedAt: meta.receivedAt,
    labels: { status: check.status, scored: String(check.scored ?? false), section: group.section },
    raw: {
      test_number: check.test_number,
      status: check.status,
      audit: check.audit,
      actual_value: check.actual_value,
      expected_result: check.expected_result,
      reason: check.reason,
      type: check.type,
      benchmark: controls.version,
      section: `${group.section} ${group.desc ?? ''}`.trim(),
    },
  });
}

const CONTROL_STATUS = { PASS: 'pass', FAIL: 'fail', WARN: 'warn' } as const;

/** Every check kube-bench ran, passes included, as a control of the CIS Kubernetes Benchmark. */
function controlResult(check: Check, controls: Controls, target: Workload, raised: Finding | undefined, meta: SourceMeta): ControlResult | undefined {
  if (check.status === 'INFO') return undefined;
  const status = CONTROL_STATUS[check.status];
  return {
    standard: { id: 'cis-kubernetes', title: `CIS Kubernetes Benchmark${controls.version ? ` (${controls.version})` : ''}` },
    control: { id: check.test_number, title: check.test_desc, severity: raised?.severity },
    cluster: target.cluster,
    status,
    passed: status === 'pass' ? 1 : 0,
    failed: status === 'pass' ? 0 : 1,
    findings: raised ? [raised.fingerprint] : [],
    remediation: check.remediation,
    observedAt: meta.receivedAt,
  };
}

function parse(raw: string, meta: SourceMeta): Batch {
  const batch: Batch = { findings: [], assets: [], scopes: [] };
  const results: ControlResult[] = [];
  for (const { value, path } of controlsOf(raw)) {
    const controls = validateAt(controlsSchema, value, path);
    const target = targetOf(controls, meta);
    batch.scopes.push({ key: complianceScopeKey(target, controls), kinds: ['compliance'] });
    for (const group of controls.tests ?? []) {
      for (const check of group.results ?? []) {
        const raised = FINDING_STATUSES.has(check.status) ? finding(check, group, controls, target, meta) : undefined;
        if (raised) batch.findings.push(raised);
        const result = controlResult(check, controls, target, raised, meta);
        if (result) results.push(result);
      }
    }
  }
  if (results.length) batch.controls = results;
  return batch;
}

export const kubeBenchParser: SourceParser = {
  format: 'kube-bench',
  detect(document: unknown): boolean {
    if (isObject(document)) {
      if (Array.isArray(document.Controls)) return true;
      return Array.isArray(document.tests) && typeof document.node_type === 'string';
    }
    return false;
  },
  parse,
};
