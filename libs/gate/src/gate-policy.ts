import { compareSeverityDesc, matchesAll, type Finding, type Matcher } from '@klaxon/findings';
import type { ExceptionConfig, KlaxonConfig } from '@klaxon/platform';

/*
 * The CI gate's decision, pure: findings + policy + exceptions + adopted suggestions at `now` →
 * pass or fail, with one sentence per finding a developer can act on (package, installed → fixed,
 * the command or line to change). No I/O here; the controller loads and stores.
 */

export type GatePolicy = KlaxonConfig['gate'];
export type Verdict = 'fail' | 'warn' | 'excepted';

/** A hardening suggestion a repo adopted: its config-scan checks now fail the gate. */
export interface AdoptedSuggestion {
  id: string;
  rule: string;
  title: string;
  checks: string[];
}

export interface GateException {
  id: string;
  reason: string;
  owner: string;
  expires?: string;
  permanent: boolean;
}

export interface GateFinding {
  fingerprint: string;
  verdict: Verdict;
  kind: Finding['kind'];
  severity: Finding['severity'];
  rule: string;
  title: string;
  fixable: boolean;
  package?: { name: string; installed?: string; fixed?: string; ecosystem?: string };
  location?: string;
  /** What to do, in one line: the command or the line to change. */
  fix?: string;
  /** Why this verdict. */
  reason: string;
  exception?: GateException;
}

export interface GateResult {
  pass: boolean;
  reasons: string[];
  findings: GateFinding[];
  /** Exceptions that let findings through, with their expiry. */
  exceptions: (GateException & { findings: number })[];
  summary: { total: number; failed: number; warned: number; excepted: number };
}

function quote(pkg: string): string {
  return /^[\w@./+:-]+$/.test(pkg) ? pkg : `'${pkg.replace(/'/g, `'\\''`)}'`;
}

/** The first of Trivy's comma-separated fixed versions: the lowest release that fixes it. */
function firstFixed(fixed: string): string {
  return fixed.split(',')[0].trim();
}

/**
 * The command that moves a package to its fixed version, per ecosystem as Trivy (`Type`) and Grype
 * (`artifact.type`) name them. OS packages are usually fixed by rebuilding on a patched base image.
 */
export function fixCommand(f: Pick<Finding, 'package'>): string | undefined {
  const p = f.package;
  if (!p?.fixed) return undefined;
  const name = quote(p.name);
  const fixed = firstFixed(p.fixed);
  switch ((p.ecosystem ?? '').toLowerCase()) {
    case 'debian':
    case 'ubuntu':
    case 'deb':
      return `rebuild on a patched base image, or add \`RUN apt-get update && apt-get install -y --only-upgrade ${name}\``;
    case 'alpine':
    case 'wolfi':
    case 'chainguard':
    case 'apk':
      return `rebuild on a patched base image, or add \`RUN apk upgrade --no-cache ${name}\``;
    case 'redhat':
    case 'centos':
    case 'rocky':
    case 'alma':
    case 'amazon':
    case 'oracle':
    case 'rpm':
      return `rebuild on a patched base image, or add \`RUN dnf upgrade -y ${name}\``;
    case 'node-pkg':
    case 'npm':
    case 'yarn':
    case 'pnpm':
      return `npm install ${name}@${fixed} (or an override in package.json)`;
    case 'gobinary':
    case 'gomod':
    case 'go-module':
      return `go get ${name}@${fixed.startsWith('v') ? fixed : `v${fixed}`} && go mod tidy, then rebuild`;
    case 'pip':
    case 'pipenv':
    case 'poetry':
    case 'python-pkg':
    case 'python':
      return `pip install '${p.name}>=${fixed}' (and pin it in requirements)`;
    case 'jar':
    case 'pom':
    case 'gradle':
    case 'java-archive':
      return `set ${p.name} to ${fixed} in pom.xml / build.gradle`;
    case 'cargo':
    case 'rust-crate':
      return `cargo update -p ${name} --precise ${fixed}`;
    case 'bundler':
    case 'gemspec':
    case 'gem':
      return `bundle update ${name}`;
    case 'composer':
      return `composer require ${name}:^${fixed}`;
    case 'nuget':
    case 'dotnet-core':
      return `dotnet add package ${name} --version ${fixed}`;
    default:
      return `upgrade ${p.name} to ${fixed}`;
  }
}

function locationOf(f: Finding): string | undefined {
  const path = f.code?.path ?? (typeof f.raw?.Target === 'string' ? f.raw.Target : undefined) ?? f.package?.path;
  if (!path) return undefined;
  return f.code?.line ? `${path}:${f.code.line}` : path;
}

/** `CVE-2023-38545 (critical) in curl 7.88.1-10+deb12u4 → 7.88.1-10+deb12u5`, or the finding's title. */
export function describe(f: Finding): string {
  const p = f.package;
  if (p && f.kind === 'vulnerability') {
    const versions = p.installed ? ` ${p.installed} → ${p.fixed ?? 'no fix yet'}` : p.fixed ? ` → ${p.fixed}` : ' (no fix yet)';
    return `${f.rule.id} (${f.severity}) in ${p.name}${versions}`;
  }
  const where = locationOf(f);
  const title = f.rule.name && f.rule.name !== f.rule.id ? `${f.rule.id} ${f.rule.name}` : f.title;
  return `${title} (${f.severity})${where ? ` at ${where}` : ''}`;
}

function fixOf(f: Finding): string | undefined {
  return fixCommand(f) ?? f.remediation;
}

function view(e: ExceptionConfig): GateException {
  return { id: e.id, reason: e.reason, owner: e.owner, expires: e.expires?.toISOString(), permanent: e.permanent };
}

function isActive(e: ExceptionConfig, now: Date): boolean {
  return e.permanent || (e.expires !== undefined && e.expires.getTime() > now.getTime());
}

interface Judged {
  finding: Finding;
  fails: string[];
  warns: string[];
  exception?: ExceptionConfig;
  expired?: ExceptionConfig;
}

function judge(
  f: Finding,
  policy: GatePolicy,
  exceptions: readonly ExceptionConfig[],
  adopted: AdoptedSuggestion[],
  now: Date,
  unfixableMatchers: Matcher[],
): Judged {
  const fails: string[] = [];
  if (policy.failOn.length && matchesAll(policy.failOn, f)) fails.push(`matches gate.failOn (${policy.failOn.map((m) => m.text).join(', ')})`);
  if (policy.failOnRiskAbove !== undefined && (f.risk?.score ?? 0) > policy.failOnRiskAbove) {
    fails.push(`risk ${f.risk!.score} is above ${policy.failOnRiskAbove}${f.risk!.reasons.length ? ` (${f.risk!.reasons.join('; ')})` : ''}`);
  }
  if (policy.failOnAdoptedSuggestions) {
    const ids = [f.rule.id, typeof f.raw?.ID === 'string' ? f.raw.ID : undefined].filter(Boolean);
    for (const s of adopted) if (s.checks.some((c) => ids.includes(c))) fails.push(`violates the adopted suggestion "${s.title}" (${s.rule})`);
  }
  const warns: string[] = [];
  if (!fails.length) {
    if (policy.warnOnUnfixable && !f.fixable && unfixableMatchers.length && matchesAll(unfixableMatchers, f)) warns.push('no fix is available yet');
    if (policy.warnOn.length && matchesAll(policy.warnOn, f)) warns.push(`matches gate.warnOn (${policy.warnOn.map((m) => m.text).join(', ')})`);
  }
  const covering = exceptions.filter((e) => matchesAll(e.match, f));
  return {
    finding: f,
    fails,
    warns,
    exception: covering.find((e) => isActive(e, now)),
    expired: covering.find((e) => !isActive(e, now)),
  };
}

function sentence(j: Judged, verdict: Verdict): string {
  const what = describe(j.finding);
  const fix = fixOf(j.finding);
  switch (verdict) {
    case 'excepted': {
      const e = j.exception!;
      return `${what}: excepted by "${e.id}" (${e.owner}, ${e.permanent ? 'permanent' : `until ${e.expires!.toISOString()}`}): ${e.reason}`;
    }
    case 'fail': {
      const expired = j.expired ? ` (exception "${j.expired.id}" expired ${j.expired.expires!.toISOString()})` : '';
      return `${what}${fix ? `: ${fix}` : ''} [${j.fails.join('; ')}]${expired}`;
    }
    case 'warn':
      return `${what}: ${j.warns.join('; ')}`;
  }
}

const ORDER: Record<Verdict, number> = { fail: 0, excepted: 1, warn: 2 };

/** The gate's answer for a set of findings. Unfixable-only reports pass, with warnings. */
export function evaluateGate(
  findings: Finding[],
  policy: GatePolicy,
  exceptions: readonly ExceptionConfig[],
  adopted: AdoptedSuggestion[],
  now: Date,
): GateResult {
  // "Would fail if it had a fix": failOn without its fixability matchers.
  const unfixableMatchers = policy.failOn.filter((m) => m.field !== 'fixable');
  const unique = [...new Map(findings.map((f) => [f.fingerprint, f])).values()];
  const out: GateFinding[] = [];
  const used = new Map<string, GateException & { findings: number }>();
  for (const f of unique) {
    const j = judge(f, policy, exceptions, adopted, now, unfixableMatchers);
    let verdict: Verdict | undefined;
    if (j.fails.length) verdict = j.exception ? 'excepted' : 'fail';
    else if (j.warns.length) verdict = 'warn';
    if (!verdict) continue;
    if (verdict === 'excepted') {
      const e = used.get(j.exception!.id) ?? { ...view(j.exception!), findings: 0 };
      e.findings++;
      used.set(e.id, e);
    }
    out.push({
      fingerprint: f.fingerprint,
      verdict,
      kind: f.kind,
      severity: f.severity,
      rule: f.rule.id,
      title: f.title,
      fixable: f.fixable,
      package: f.package ? { name: f.package.name, installed: f.package.installed, fixed: f.package.fixed, ecosystem: f.package.ecosystem } : undefined,
      location: locationOf(f),
      fix: fixOf(f),
      reason: sentence(j, verdict),
      exception: verdict === 'excepted' ? view(j.exception!) : undefined,
    });
  }
  out.sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict] || compareSeverityDesc(a.severity, b.severity) || a.rule.localeCompare(b.rule));
  const count = (v: Verdict) => out.filter((f) => f.verdict === v).length;
  const summary = { total: unique.length, failed: count('fail'), warned: count('warn'), excepted: count('excepted') };
  const reasons = [
    ...out.filter((f) => f.verdict === 'fail').map((f) => `FAIL ${f.reason}`),
    ...out.filter((f) => f.verdict === 'excepted').map((f) => `EXCEPTED ${f.reason}`),
    ...out.filter((f) => f.verdict === 'warn').map((f) => `WARN ${f.reason}`),
  ];
  if (!summary.failed) {
    reasons.unshift(
      `pass: nothing in ${summary.total} findings fails the gate${summary.excepted ? `, ${summary.excepted} excepted` : ''}${summary.warned ? `, ${summary.warned} warnings` : ''}`,
    );
  }
  return { pass: summary.failed === 0, reasons, findings: out, exceptions: [...used.values()], summary };
}
