import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiServerEmulator, type KubeObject } from '../emulators/kube-apiserver.emulator';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { testPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const text = (dir: string, name: string) => readFileSync(resolve(__dirname, '../fixtures', dir, name), 'utf8');
const object = (dir: string, name: string) => JSON.parse(text(dir, name)) as KubeObject;

type Page = { total: number; items: { fingerprint: string; state: string; rule: { id: string }; kind: string }[] };

async function findings(klaxon: TestKlaxon, query: string): Promise<Page> {
  const res = await klaxon.api(`/v1/findings?limit=500&${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

const eventOf = async (klaxon: TestKlaxon, id: string) => (await (await klaxon.api(`/v1/events/${id}`)).json()) as Record<string, any>;

describe('cluster reports uploaded over HTTP', () => {
  let klaxon: TestKlaxon;
  beforeAll(async () => {
    klaxon = await startTestKlaxon('routes: {}\n');
  });
  afterAll(async () => klaxon?.close());

  const upload = (body: string, format?: string) =>
    klaxon.api(`/v1/reports${format ? `?format=${format}` : ''}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  async function triaged(res: Response) {
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };
    return waitFor(async () => {
      const e = await eventOf(klaxon, eventId);
      return e.status === 'triaged' || e.status === 'routed' ? e : undefined;
    }, `triage of ${eventId}`);
  }

  it('opens policy findings from a PolicyReport and resolves those that turn pass', async () => {
    const first = await triaged(await upload(text('policyreport', 'kyverno-v1alpha2-prod-shop.json'), 'policyreport'));
    expect(first.parsed).toMatchObject({ format: 'policyreport', findings: 4, scopes: 2 });
    expect(first.triage.new).toBe(4);
    const later = await triaged(await upload(text('policyreport', 'kyverno-v1alpha2-prod-shop-fixed.json')));
    expect(later.format).toBe('policyreport');
    expect(later.triage).toMatchObject({ resolved: 3, unchanged: 1 });
    const open = await findings(klaxon, 'kind=policy&state=open');
    expect(open.items.map((f) => f.rule.id)).toEqual(['disallow-host-path/host-path']);
  });

  it('opens findings from Trivy Operator reports and kube-bench, detected without ?format', async () => {
    const vulns = await triaged(await upload(text('trivy-operator', 'vulnerabilityreport-checkout.json')));
    expect(vulns.parsed).toMatchObject({ format: 'trivy-operator', findings: 8, assets: 1 });
    const audit = await triaged(await upload(text('trivy-operator', 'configauditreport-checkout.json'), 'trivy-operator'));
    expect(audit.triage.new).toBe(4);
    const bench = await triaged(await upload(text('kube-bench', 'master.json')));
    expect(bench.parsed).toMatchObject({ format: 'kube-bench', findings: 4 });
    expect((await findings(klaxon, 'kind=compliance&state=open')).total).toBe(4);
    const fixed = await triaged(await upload(text('kube-bench', 'master-fixed.json'), 'kube-bench'));
    expect(fixed.triage).toMatchObject({ resolved: 1, unchanged: 3 });
  });

  it('takes Kubernetes reports as YAML (kubectl get -o yaml), refusing anchors, and other formats and routes with 415', async () => {
    const yaml = (body: string, format?: string, path = '/v1/reports') =>
      klaxon.api(`${path}${format ? `?format=${format}` : ''}`, { method: 'POST', body, headers: { 'content-type': 'application/yaml' } });
    const report = await triaged(await yaml(text('policyreport', 'kyverno-v1alpha2-prod-shop.yaml')));
    expect(report.parsed).toMatchObject({ format: 'policyreport', findings: 4, scopes: 2 });
    const list = await triaged(await yaml(text('trivy-operator', 'reports-list.yaml'), 'trivy-operator'));
    expect(list.parsed).toMatchObject({ format: 'trivy-operator', findings: 12, assets: 1 });

    const anchors = await yaml(text('policyreport', 'anchors.yaml'), 'policyreport');
    expect(anchors.status).toBe(400);
    expect(await anchors.json()).toMatchObject({ error: 'bad_request', field: 'body', message: expect.stringMatching(/anchors are not accepted/) });
    for (const [body, format] of [
      ['SchemaVersion: 2\nArtifactName: harbor.example.com/shop/checkout:1.4.2\n', 'trivy'],
      [`SchemaVersion: 2\nArtifactName: harbor.example.com/shop/checkout:1.4.2\nArtifactType: container_image\nResults: []\n`, undefined],
    ] as const) {
      const refused = await yaml(body, format);
      expect(refused.status).toBe(415);
      expect(await refused.json()).toMatchObject({ error: 'unsupported_media_type', field: 'content-type', message: expect.stringMatching(/trivy/) });
    }
    const webhook = await yaml('rule: Terminal shell in container\n', undefined, '/v1/webhooks/falco');
    expect(webhook.status).toBe(415);
    expect(await webhook.json()).toMatchObject({ error: 'unsupported_media_type', field: 'content-type' });
  });

  it('acknowledges report kinds it does not read, and rejects broken ones with 422 naming the field, quarantined', async () => {
    const ignored = await upload(text('trivy-operator', 'exposedsecretreport.json'), 'trivy-operator');
    expect(ignored.status).toBe(202);
    expect(((await ignored.json()) as any).ignored).toMatch(/ExposedSecretReport/);

    for (const [dir, name, format, field] of [
      ['policyreport', 'missing-policy.json', 'policyreport', 'results[1].policy'],
      ['trivy-operator', 'missing-labels.json', 'trivy-operator', 'metadata.labels["trivy-operator.resource.kind"]'],
      ['kube-bench', 'missing-status.json', 'kube-bench', 'Controls[0].tests[0].results[0].status'],
    ]) {
      const res = await upload(text(dir, name), format);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { field: string; eventId: string; quarantined: boolean };
      expect(body).toMatchObject({ field, quarantined: true });
      const quarantine = (await (await klaxon.api('/v1/quarantine')).json()) as { items: { id: string }[] };
      expect(quarantine.items.map((e) => e.id)).toContain(body.eventId);
    }
  });
});

describe('the collector against an emulated API server', () => {
  let api: KubeApiServerEmulator;
  let klaxon: TestKlaxon;
  let kubeconfig: string;
  const prefix = testPrefix('e2e-collector');
  const config = () => `
sources:
  kubernetes:
    enabled: true
    kubeconfig: ${kubeconfig}
    clusterName: prod-eu-1
    resyncInterval: 1h
routes: {}
`;

  beforeAll(async () => {
    api = await KubeApiServerEmulator.start({
      objects: [
        object('kubernetes', 'namespace-prod-shop.json'),
        object('kubernetes', 'deployment-checkout.json'),
        object('kubernetes', 'pod-checkout.json'),
        object('kubernetes', 'service-checkout.json'),
        object('kubernetes', 'ingress-checkout.json'),
        object('policyreport', 'kyverno-v1alpha2-prod-shop.json'),
        object('trivy-operator', 'vulnerabilityreport-checkout.json'),
        object('trivy-operator', 'configauditreport-checkout.json'),
        object('trivy-operator', 'clustercompliancereport-k8s-cis.json'),
      ],
    });
    kubeconfig = api.writeKubeconfig();
    klaxon = await startTestKlaxon(config(), { prefix });
  });
  afterAll(async () => {
    await klaxon?.close();
    await api?.stop();
  });

  const openCount = async (kind: string) => (await findings(klaxon, `kind=${kind}&state=open`)).total;

  it('lists and watches every kind, turning reports into findings', async () => {
    await waitFor(
      async () => (await openCount('policy')) === 4 && (await openCount('misconfiguration')) === 4 && (await openCount('vulnerability')) === 8,
      'the findings of the listed reports',
    );
    const privileged = (await findings(klaxon, 'kind=misconfiguration&workload=prod-eu-1/prod-shop/Deployment/checkout')).items.map((f) => f.rule.id);
    expect(privileged).toContain('KSV017');
    // The ClusterComplianceReport's two failing controls, and its controls for GET /v1/compliance.
    await waitFor(async () => (await openCount('compliance')) === 2, 'the compliance report’s findings');
    const { standards } = (await (await klaxon.api('/v1/compliance?standard=k8s-cis-1.23')).json()) as { standards: { failing: number; passing: number }[] };
    expect(standards).toEqual([expect.objectContaining({ failing: 2, passing: 1 })]);
    // One open watch per kind.
    await waitFor(() => api.openWatches() === 12, 'a watch per kind');
  });

  it('states workloads, exposure, namespace labels and pod security as assets correlation reads', async () => {
    const risk = await waitFor(async () => {
      const body = (await (await klaxon.api('/v1/risk/workloads')).json()) as { items: { workload: Record<string, any> }[] };
      return body.items.find((i) => i.workload.id === 'prod-eu-1/prod-shop/Deployment/checkout' && i.workload.exposedVia.length === 2);
    }, 'the checkout workload ranked with its exposure');
    expect(risk.workload.exposedVia).toEqual(['Ingress prod-shop/checkout', 'Service prod-shop/checkout (LoadBalancer)']);
    expect(risk.workload.owners).toMatchObject({ team: 'payments', owner: 'jane.doe' });
    expect(risk.workload.privileges).toEqual(['privileged', 'hostPath /var/run/docker.sock', 'CAP_NET_ADMIN']);
  });

  it('resolves policy findings when the watched report turns pass', async () => {
    api.apply(object('policyreport', 'kyverno-v1alpha2-prod-shop-fixed.json'));
    await waitFor(async () => (await openCount('policy')) === 1, 'the resolutions');
  });

  it('re-lists after 410 Gone and resolves what was deleted meanwhile', async () => {
    const lists = api.lists('/apis/aquasecurity.github.io/v1alpha1/configauditreports');
    api.hold();
    api.expireWatches();
    api.remove('ConfigAuditReport', 'prod-shop', 'deployment-checkout');
    api.release();
    await waitFor(async () => (await openCount('misconfiguration')) === 0, 'the deleted report to resolve its checks');
    expect(api.lists('/apis/aquasecurity.github.io/v1alpha1/configauditreports')).toBeGreaterThan(lists);
  });

  it('after a restart, the resync turns objects deleted while it was down into deletions', async () => {
    await klaxon.close();
    api.remove('PolicyReport', 'prod-shop', 'cpol-prod-shop');
    klaxon = await startTestKlaxon(config(), { prefix });
    await waitFor(async () => (await openCount('policy')) === 0, 'the resync to resolve the deleted report', 20_000);
  });
});
