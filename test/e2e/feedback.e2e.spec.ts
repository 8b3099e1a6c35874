import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { DEFAULT_GITHUB_TOKEN, GitHubEmulator } from '../emulators/github.emulator';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (path: string) => readFileSync(resolve(__dirname, '../fixtures', path), 'utf8');
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

type Json = Record<string, any>;

/** Every ```yaml block of a comment, parsed (a block may hold several documents). */
function yamlDocuments(body: string): Json[] {
  return [...body.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) => parseAllDocuments(m[1]).map((d) => d.toJS() as Json));
}

/** A Trivy config scan of the repo's manifests in CI: KSV014 fails for the checkout Deployment. */
const manifestScan = JSON.stringify({
  SchemaVersion: 2,
  CreatedAt: '2024-06-14T10:00:00.000000000Z',
  ArtifactName: '.',
  ArtifactType: 'filesystem',
  Results: [
    {
      Target: 'deploy/checkout.yaml',
      Class: 'config',
      Type: 'kubernetes',
      MisconfSummary: { Successes: 97, Failures: 1 },
      Misconfigurations: [
        {
          Type: 'Kubernetes Security Check',
          ID: 'KSV014',
          AVDID: 'AVD-KSV-0014',
          Title: 'Root file system is not read-only',
          Description: 'An immutable root file system prevents applications from writing to their local disk.',
          Message: "Container 'checkout' of Deployment 'checkout' should set 'securityContext.readOnlyRootFilesystem' to true",
          Namespace: 'builtin.kubernetes.KSV014',
          Query: 'data.builtin.kubernetes.KSV014.deny',
          Resolution: 'Change containers[].securityContext.readOnlyRootFilesystem to true.',
          Severity: 'HIGH',
          PrimaryURL: 'https://avd.aquasec.com/misconfig/ksv014',
          References: ['https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted', 'https://avd.aquasec.com/misconfig/ksv014'],
          Status: 'FAIL',
          CauseMetadata: { Provider: 'Kubernetes', Service: 'general', StartLine: 132, EndLine: 143 },
        },
      ],
    },
  ],
});

describe('runtime detections become hardening suggestions on the pull request that built the image', () => {
  let github: GitHubEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    github = await GitHubEmulator.start();
    klaxon = await startTestKlaxon(`
server:
  maxBodyBytes: 2097152
sources:
  falco: { allowUnauthenticated: true }   # the tests post as Falco's http_output does by default
destinations:
  github-prs:
    type: github
    token: ${DEFAULT_GITHUB_TOKEN}
    baseUrl: ${github.url}
routes:
  to: []
  routes:
    - name: build-suggestions
      match: ["kind = suggestion"]
      to: [github-prs]
      groupBy: [code.repo, code.pullRequest]
      groupWait: 0s
      groupInterval: 0s
gate:
  failOn: ["fixable = true", "severity >= critical"]
`);
  });
  afterAll(async () => {
    await klaxon?.close();
    await github?.stop();
  });

  const post = async (path: string, body: string) => {
    const res = await klaxon.api(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    return ((await res.json()) as { eventId: string }).eventId;
  };
  const event = async (id: string) => (await (await klaxon.api(`/v1/events/${id}`)).json()) as Json;
  const comments = () => github.commentsOn('acme/checkout', 42);

  it('PR 42 of acme/checkout builds the image (its CI uploads the scan with the build context)', async () => {
    const id = await post(`/v1/reports?format=trivy&repo=acme/checkout&pr=42&commit=${COMMIT}`, fixture('trivy/image-checkout.json'));
    await waitFor(async () => (await event(id)).status === 'triaged' || undefined, 'triage of the image scan');
  });

  it('Falco "Write below binary dir" and a package manager in prod-shop/checkout → one proposal in PR 42’s sticky comment', async () => {
    await post('/v1/webhooks/falco', fixture('falco/checkout-hardening.jsonl'));
    const [comment] = await waitFor(() => comments().length > 0 && comments(), 'the PR comment');
    expect(comments()).toHaveLength(1);
    expect(comment.body.match(/^## .*Hardening proposal — `prod-shop\/deployment\/checkout`/gm)).toHaveLength(1);
    expect(comment.body).toContain('### 1. Make the root filesystem read-only');
    expect(comment.body).toContain('### 2. Remove the package manager from the final image');
    expect(comment.body).toContain('| Write below binary dir | falco | 2 |');
    expect(comment.body).toContain('`apt-get install -y curl`');

    const policies = yamlDocuments(comment.body).filter((d) => d.kind === 'ClusterPolicy');
    expect(policies).toHaveLength(1);
    const [kyverno] = policies;
    expect(kyverno.apiVersion).toBe('kyverno.io/v1');
    expect(kyverno.metadata.name).toMatch(/^klaxon-read-only-root-filesystem-prod-shop-checkout$/);
    expect(kyverno.spec.validationFailureAction).toBe('Audit');
    expect(kyverno.spec.rules.length).toBeGreaterThan(0);
    for (const rule of kyverno.spec.rules) {
      expect(rule.match.any[0].resources.namespaces).toEqual(['prod-shop']);
      expect(rule.validate.message).toEqual(expect.any(String));
    }
    expect(kyverno.spec.rules[0].validate.pattern.spec.template.spec.containers[0].securityContext).toEqual({ readOnlyRootFilesystem: true });
    const patch = yamlDocuments(comment.body).find((d) => d.kind === 'Deployment');
    expect(patch?.spec.template.spec.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('GET /v1/suggestions lists them with the workload, image, evidence and the PR they went to', async () => {
    const list = (await (await klaxon.api('/v1/suggestions')).json()) as Json;
    expect(list.total).toBe(2);
    expect(list.items.map((s: Json) => s.rule).sort()).toEqual(['read-only-root-filesystem', 'remove-package-manager']);
    // The proposal they make together, each rule a section.
    expect(list.proposals).toHaveLength(1);
    expect(list.proposals[0]).toMatchObject({
      tier: 'proposal',
      severity: 'medium',
      workload: { namespace: 'prod-shop', name: 'checkout' },
      evidence: { count: 3 },
    });
    expect(list.proposals[0].sections.map((s: Json) => s.rule)).toEqual(['read-only-root-filesystem', 'remove-package-manager']);
    expect(list.proposals[0].changes.securityContextPatch).toContain('readOnlyRootFilesystem: true');
    const ro = list.items.find((s: Json) => s.rule === 'read-only-root-filesystem');
    expect(ro).toMatchObject({
      workload: { namespace: 'prod-shop', kind: 'Deployment', name: 'checkout' },
      image: { repository: 'shop/checkout' },
      code: { repo: 'acme/checkout', pullRequest: 42 },
      evidence: { count: 3, firstSeen: '2024-06-12T16:04:07.123456789Z', lastSeen: '2024-06-12T16:05:41.002003004Z' },
      policies: ['kyverno', 'gatekeeper'],
    });
    const byRepo = (await (await klaxon.api('/v1/suggestions?repo=acme/checkout')).json()) as Json;
    expect(byRepo.total).toBe(2);
    expect(((await (await klaxon.api('/v1/suggestions?repo=acme/other')).json()) as Json).total).toBe(0);
    expect((await klaxon.api('/v1/suggestions?limit=0')).status).toBe(400);
  });

  it('GET /v1/suggestions/{id} has the YAML, as JSON or as one multi-document file', async () => {
    const list = (await (await klaxon.api('/v1/suggestions')).json()) as Json;
    const id = list.items.find((s: Json) => s.rule === 'read-only-root-filesystem').id;
    const one = (await (await klaxon.api(`/v1/suggestions/${id}`)).json()) as Json;
    expect(parseYaml(one.policies.kyverno).kind).toBe('ClusterPolicy');
    expect(parseYaml(one.policies.gatekeeper.template).spec.crd.spec.names.kind).toBe(parseYaml(one.policies.gatekeeper.constraint).kind);
    const yaml = await klaxon.api(`/v1/suggestions/${id}?format=yaml`);
    expect(yaml.headers.get('content-type')).toContain('application/yaml');
    const kinds = parseAllDocuments(await yaml.text()).map((d) => (d.toJS() as Json).kind);
    expect(kinds).toEqual(['Deployment', 'ClusterPolicy', 'ConstraintTemplate', 'K8sKlaxonSecurityContext']);
    expect((await klaxon.api('/v1/suggestions/nope')).status).toBe(404);
  });

  it('more events update the same comment, with the evidence grown and the new rule a section of the same proposal, not a second comment', async () => {
    const before = comments()[0].edits;
    await post('/v1/webhooks/falco', fixture('falco/checkout-hardening-more.jsonl'));
    const [comment] = await waitFor(() => comments()[0].edits > before && comments(), 'the comment edit');
    expect(comments()).toHaveLength(1);
    expect(comment.body.match(/^## /gm)).toHaveLength(1);
    expect(comment.body).toContain('### 3. Remove shells from the image and block exec into the workload');
    // The package manager ran again (apk this time): the evidence of both suggestions it backs grew.
    expect(comment.body).toContain('| Launch Package Management Process in Container | falco | 2 |');
    expect(comment.body).toContain('`apk add --no-cache socat`');
    const denyExec = yamlDocuments(comment.body).find((d) => d.kind === 'ClusterPolicy' && d.spec.rules[0].match.any[0].resources.kinds.includes('Pod/exec'));
    expect(denyExec?.spec.rules[0].validate).toHaveProperty('deny');
    const list = (await (await klaxon.api('/v1/suggestions')).json()) as Json;
    expect(list.total).toBe(3);
    expect(list.items.find((s: Json) => s.rule === 'read-only-root-filesystem').evidence.count).toBe(4);
    expect(list.proposals.map((p: Json) => [p.tier, p.sections.length])).toEqual([['proposal', 3]]);
  });

  it('a second delivery of the same events is a new Falco event: counted once more, into the same suggestions, and the same comment is edited', async () => {
    const list = async () => (await (await klaxon.api('/v1/suggestions')).json()) as Json;
    const count = (l: Json) => l.items.find((s: Json) => s.rule === 'read-only-root-filesystem').evidence.count;
    const before = count(await list());
    const edits = comments()[0].edits;
    await post('/v1/webhooks/falco', fixture('falco/checkout-hardening-more.jsonl'));
    await waitFor(async () => count(await list()) > before || undefined, 'the evidence of the second delivery');
    expect(count(await list())).toBe(before + 1);
    expect((await list()).total).toBe(3);

    // No new detection, only more of the known ones: the sticky comment still shows the grown counts.
    const [comment] = await waitFor(() => comments()[0].edits > edits && comments(), 'the comment edit for evidence alone');
    expect(comments()).toHaveLength(1);
    expect(comment.body.match(/^## .*Hardening proposal/gm)).toHaveLength(1);
    expect(comment.body).toContain('| Launch Package Management Process in Container | falco | 3 |');
    expect(comment.body).toContain('| Terminal shell in container | falco | 2 |');
  });

  it('an adopted suggestion makes the gate fail a manifest that breaks it', async () => {
    const gate = async () =>
      (await (
        await klaxon.api('/v1/gate?format=trivy&repo=acme/checkout&pr=43', {
          method: 'POST',
          body: manifestScan,
          headers: { 'content-type': 'application/json' },
        })
      ).json()) as Json;
    expect((await gate()).pass).toBe(true);
    const list = (await (await klaxon.api('/v1/suggestions')).json()) as Json;
    const id = list.items.find((s: Json) => s.rule === 'read-only-root-filesystem').id;
    const adopt = await klaxon.api(`/v1/suggestions/${id}/adopt`, { method: 'POST' });
    expect(adopt.status).toBe(200);
    expect(((await adopt.json()) as Json).adoptedAt).toEqual(expect.any(String));
    const answer = await gate();
    expect(answer.pass).toBe(false);
    expect(answer.reasons[0]).toContain('violates the adopted suggestion "Make the root filesystem read-only" (read-only-root-filesystem)');
    expect(answer.reasons[0]).toContain('deploy/checkout.yaml');
    await klaxon.api(`/v1/suggestions/${id}/adopt`, { method: 'DELETE' });
    expect((await gate()).pass).toBe(true);
  });
});
