import type { ControlResult } from '@klaxon/findings';

export type ControlStatus = ControlResult['status'];

/** One control of a standard across the clusters and namespaces it was judged in. */
export interface ControlView {
  id: string;
  title: string;
  severity?: ControlResult['control']['severity'];
  /** fail when any scope fails, warn when any warns, pass otherwise. */
  status: ControlStatus;
  scopes: { cluster?: string; namespace?: string; status: ControlStatus; passed: number; failed: number; observedAt: string }[];
  /** Fingerprints of the findings its failing scopes raised. */
  findings: string[];
  remediation?: string;
}

export interface StandardView {
  id: string;
  title: string;
  /** Controls by their overall status. */
  passing: number;
  failing: number;
  warning: number;
  controls: ControlView[];
}

export interface ComplianceFilter {
  standard?: string;
  cluster?: string;
  namespace?: string;
}

const RANK: Record<ControlStatus, number> = { pass: 0, warn: 1, fail: 2 };
const worst = (a: ControlStatus, b: ControlStatus): ControlStatus => (RANK[a] >= RANK[b] ? a : b);
/** Control ids are dotted numbers in CIS (1.2.10 after 1.2.9) and names elsewhere. */
const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id, 'en', { numeric: true });

export function matchesCompliance(result: ControlResult, filter: ComplianceFilter): boolean {
  return (
    (!filter.standard || result.standard.id === filter.standard) &&
    (!filter.cluster || result.cluster === filter.cluster) &&
    (!filter.namespace || result.namespace === filter.namespace)
  );
}

/** Standards with their controls, failing controls first, from the latest result of each control scope. */
export function summarizeCompliance(results: ControlResult[]): StandardView[] {
  const standards = new Map<string, { id: string; title: string; controls: Map<string, ControlView> }>();
  const scopeOf = (r: ControlResult) => [r.standard.id, r.control.id, r.cluster ?? '', r.namespace ?? ''].join('\n');
  // A fixed order, so the first title, severity and remediation read do not depend on storage order.
  for (const result of [...results].sort((a, b) => scopeOf(a).localeCompare(scopeOf(b)))) {
    const standard = standards.get(result.standard.id) ?? { ...result.standard, controls: new Map() };
    standards.set(result.standard.id, standard);
    const control: ControlView = standard.controls.get(result.control.id) ?? {
      id: result.control.id,
      title: result.control.title,
      status: result.status,
      scopes: [],
      findings: [],
    };
    control.status = worst(control.status, result.status);
    control.severity ??= result.control.severity;
    control.remediation ??= result.remediation;
    control.scopes.push({
      cluster: result.cluster,
      namespace: result.namespace,
      status: result.status,
      passed: result.passed,
      failed: result.failed,
      observedAt: result.observedAt,
    });
    control.findings = [...new Set([...control.findings, ...result.findings])].sort();
    standard.controls.set(result.control.id, control);
  }
  return [...standards.values()]
    .map(({ controls, ...standard }) => {
      const list = [...controls.values()].sort((a, b) => RANK[b.status] - RANK[a.status] || byId(a, b));
      for (const control of list) control.scopes.sort((a, b) => `${a.cluster}/${a.namespace}`.localeCompare(`${b.cluster}/${b.namespace}`));
      return {
        ...standard,
        passing: list.filter((c) => c.status === 'pass').length,
        failing: list.filter((c) => c.status === 'fail').length,
        warning: list.filter((c) => c.status === 'warn').length,
        controls: list,
      };
    })
    .sort(byId);
}
