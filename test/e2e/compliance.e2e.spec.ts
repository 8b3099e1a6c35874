import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (path: string) => readFileSync(resolve(__dirname, '../fixtures', path), 'utf8');
type Json = Record<string, any>;

describe('GET /v1/compliance: pass and fail per standard and control, with the findings behind each failure', () => {
  let klaxon: TestKlaxon;
  const post = async (path: string, body: string) => {
    const res = await klaxon.api(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    await waitFor(
      async () => ['triaged', 'routed'].includes(((await (await klaxon.api(`/v1/events/${eventId}`)).json()) as Json).status) || undefined,
      'triage',
    );
  };
  const compliance = async (query = '') => {
    const res = await klaxon.api(`/v1/compliance${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  };
  const standard = (view: Json, id: string) => view.standards.find((s: Json) => s.id === id);

  beforeAll(async () => {
    klaxon = await startTestKlaxon('routes:\n  to: []\n');
    await post('/v1/reports?format=kube-bench', fixture('kube-bench/master.json'));
    await post('/v1/reports?format=policyreport', fixture('policyreport/kyverno-v1alpha2-prod-shop.json'));
    await post('/v1/reports?format=trivy-operator', fixture('trivy-operator/clustercompliancereport-k8s-cis.json'));
  });
  afterAll(async () => klaxon?.close());

  it('reads CIS from kube-bench, Pod Security Standards from Kyverno categories and a ClusterComplianceReport', async () => {
    const view = await compliance();
    expect(view.standards.map((s: Json) => s.id).sort()).toEqual(['cis-kubernetes', 'k8s-cis-1.23', 'pss-baseline']);
    const cis = standard(view, 'cis-kubernetes');
    const etcd = cis.controls.find((c: Json) => c.id === '1.1.12');
    expect(etcd).toMatchObject({ status: 'fail', severity: 'high' });
    expect(etcd.remediation).toContain('chown etcd:etcd');
    expect(etcd.findings).toEqual([expect.objectContaining({ state: 'open', title: expect.stringContaining('1.1.12') })]);
    expect(cis.controls.filter((c: Json) => c.status === 'pass').every((c: Json) => c.findings.length === 0)).toBe(true);
    // Failing controls come first.
    const order = cis.controls.map((c: Json) => c.status);
    expect(order.indexOf('pass')).toBeGreaterThan(order.lastIndexOf('fail'));

    const pss = standard(view, 'pss-baseline');
    expect(pss.controls.every((c: Json) => c.scopes.every((s: Json) => s.namespace === 'prod-shop'))).toBe(true);
    expect(pss.failing).toBeGreaterThan(0);

    const trivy = standard(view, 'k8s-cis-1.23');
    expect(trivy).toMatchObject({ title: 'CIS Kubernetes Benchmarks v1.23', failing: 2, passing: 1 });
    expect(trivy.controls[0].findings[0].remediation).toContain('privileged');
  });

  it('filters by standard and namespace, and keeps a daily trend per standard', async () => {
    const onlyPss = await compliance('?namespace=prod-shop');
    expect(onlyPss.standards.map((s: Json) => s.id)).toEqual(['pss-baseline']);
    const trivy = await compliance('?standard=k8s-cis-1.23');
    expect(trivy.trend).toEqual([expect.objectContaining({ standard: 'k8s-cis-1.23', failing: 2, passing: 1 })]);
    expect((await klaxon.api('/v1/compliance?days=0')).status).toBe(400);
  });

  it('a newer report where the control passes turns it green and resolves its finding', async () => {
    const doc = JSON.parse(fixture('trivy-operator/clustercompliancereport-k8s-cis.json'));
    doc.status.updateTimestamp = '2026-11-24T10:00:00Z';
    doc.status.detailReport.results[0].checks = [{ success: true }];
    await post('/v1/reports?format=trivy-operator', JSON.stringify(doc));
    const trivy = standard(await compliance('?standard=k8s-cis-1.23'), 'k8s-cis-1.23');
    expect(trivy).toMatchObject({ failing: 1, passing: 2 });
    const privileged = trivy.controls.find((c: Json) => c.id === '5.2.2');
    expect(privileged).toMatchObject({ status: 'pass', findings: [] });
    const findings = (await (await klaxon.api('/v1/findings?kind=compliance&state=resolved')).json()) as Json;
    expect(findings.items.map((f: Json) => f.rule.id)).toContain('k8s-cis-1.23/5.2.2');
  });

  it('an older report arriving late does not undo the newer result', async () => {
    await post('/v1/reports?format=trivy-operator', fixture('trivy-operator/clustercompliancereport-k8s-cis.json'));
    const privileged = standard(await compliance('?standard=k8s-cis-1.23'), 'k8s-cis-1.23').controls.find((c: Json) => c.id === '5.2.2');
    expect(privileged.status).toBe('pass');
  });
});
