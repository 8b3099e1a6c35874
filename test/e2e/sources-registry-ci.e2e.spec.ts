import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { waitFor } from '../support/wait';

const fixture = (dir: string, name: string) => readFileSync(resolve(__dirname, '../fixtures', dir, name), 'utf8');
const GITHUB_SECRET = 'gh-webhook-secret-for-tests';
const GITLAB_TOKEN = 'gl-token-for-tests';
const QUAY_TOKEN = 'quay-token-for-tests';
const REGISTRY_TOKEN = 'registry-token-for-tests';
const SHA = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';

describe('registry and CI inputs over HTTP', () => {
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    klaxon = await startTestKlaxon(`
sources:
  github:
    secret: ${GITHUB_SECRET}
  gitlab:
    token: ${GITLAB_TOKEN}
  quay:
    token: ${QUAY_TOKEN}
  registry:
    token: ${REGISTRY_TOKEN}
routes:
  groupBy: [code.repo]
`);
  });
  afterAll(() => klaxon?.close());

  const eventOf = async (id: string) => (await (await klaxon.api(`/v1/events/${id}`)).json()) as Record<string, any>;
  const settled = (id: string, what: string) =>
    waitFor(async () => {
      const e = await eventOf(id);
      return e.triage || e.status === 'ignored' || e.status === 'quarantined' ? e : undefined;
    }, what);
  const quarantined = async () => ((await (await klaxon.api('/v1/quarantine?limit=500')).json()) as { items: { id: string }[] }).items.map((e) => e.id);

  describe('GitHub', () => {
    const sign = (body: string, secret = GITHUB_SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const deliver = (event: string, body: string, opts: { delivery?: string; signature?: string } = {}) =>
      fetch(`${klaxon.url}/v1/webhooks/github`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': event,
          'x-github-delivery': opts.delivery ?? randomUUID(),
          'x-hub-signature-256': opts.signature ?? sign(body),
        },
      });

    it('accepts a signed workflow run as a build, and answers its redelivery with the first event', async () => {
      const body = fixture('github', 'workflow-run-completed.json');
      const delivery = randomUUID();
      const first = await deliver('workflow_run', body, { delivery });
      expect(first.status).toBe(202);
      const { eventId } = (await first.json()) as { eventId: string };
      const event = await settled(eventId, 'the workflow run');
      expect(event).toMatchObject({ format: 'github', context: { event: 'workflow_run', deliveryId: delivery }, parsed: { findings: 0, assets: 1 } });

      const again = await deliver('workflow_run', body, { delivery });
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ eventId, duplicate: true });
    });

    it('refuses a body whose signature does not match with 401', async () => {
      const body = fixture('github', 'pull-request-opened.json');
      const res = await deliver('pull_request', body, { signature: sign(body, 'not-the-secret') });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'unauthorized', field: 'authorization' });
      const unsigned = await fetch(`${klaxon.url}/v1/webhooks/github`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request' },
      });
      expect(unsigned.status).toBe(401);
    });

    it('acknowledges ping with 202 and marks it ignored', async () => {
      const res = await deliver('ping', fixture('github', 'ping.json'));
      expect(res.status).toBe(202);
      const body = (await res.json()) as { eventId: string; ignored: string };
      expect(body.ignored).toMatch(/ping/);
      expect((await eventOf(body.eventId)).status).toBe('ignored');
    });

    it('rejects a malformed payload with 422 naming the field and quarantines it', async () => {
      const res = await deliver('workflow_run', fixture('github', 'workflow-run-missing-sha.json'));
      expect(res.status).toBe(422);
      const body = (await res.json()) as { field: string; eventId: string };
      expect(body.field).toBe('workflow_run.head_sha');
      expect(await quarantined()).toContain(body.eventId);
    });

    it('opens a code finding for a code scanning alert and resolves it when GitHub says fixed', async () => {
      const created = await deliver('code_scanning_alert', fixture('github', 'code-scanning-alert-created.json'));
      const opened = await settled(((await created.json()) as { eventId: string }).eventId, 'the alert');
      expect(opened.triage.new).toBe(1);
      const fixed = await deliver('code_scanning_alert', fixture('github', 'code-scanning-alert-fixed.json'));
      const closed = await settled(((await fixed.json()) as { eventId: string }).eventId, 'the fix');
      expect(closed.triage.resolved).toBe(1);
    });
  });

  describe('GitLab', () => {
    const hook = (kind: string, body: string, token = GITLAB_TOKEN, key = randomUUID()) =>
      fetch(`${klaxon.url}/v1/webhooks/gitlab`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-gitlab-event': kind, 'x-gitlab-token': token, 'idempotency-key': key },
      });

    it('accepts pipeline and merge request hooks with the token as builds', async () => {
      for (const [kind, name] of [
        ['Pipeline Hook', 'pipeline-hook.json'],
        ['Merge Request Hook', 'merge-request-hook.json'],
      ]) {
        const res = await hook(kind!, fixture('gitlab', name!));
        expect(res.status).toBe(202);
        const event = await settled(((await res.json()) as { eventId: string }).eventId, kind!);
        expect(event.parsed).toMatchObject({ format: 'gitlab', findings: 0, assets: 1 });
      }
    });

    it('refuses a wrong token with 401, answers a retry as a duplicate, acknowledges a push hook', async () => {
      expect((await hook('Pipeline Hook', fixture('gitlab', 'pipeline-hook.json'), 'wrong')).status).toBe(401);
      const key = randomUUID();
      const first = await hook('Pipeline Hook', fixture('gitlab', 'pipeline-tag.json'), GITLAB_TOKEN, key);
      const retry = await hook('Pipeline Hook', fixture('gitlab', 'pipeline-tag.json'), GITLAB_TOKEN, key);
      expect(retry.status).toBe(200);
      expect(((await retry.json()) as { eventId: string }).eventId).toBe(((await first.json()) as { eventId: string }).eventId);
      const push = await hook('Push Hook', fixture('gitlab', 'push-hook.json'));
      expect(push.status).toBe(202);
      expect(((await push.json()) as { ignored?: string }).ignored).toMatch(/push/);
    });
  });

  describe('Quay', () => {
    const notify = (body: string, token?: string) =>
      fetch(`${klaxon.url}/v1/webhooks/quay${token === undefined ? '' : `?token=${token}`}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });

    it('opens findings for vulnerability_found with the token in the URL, and refuses without it', async () => {
      const res = await notify(fixture('quay', 'vulnerabilities-found.json'), QUAY_TOKEN);
      expect(res.status).toBe(202);
      const event = await settled(((await res.json()) as { eventId: string }).eventId, 'the Quay notification');
      expect(event.parsed).toMatchObject({ format: 'quay', findings: 3 });
      expect((await notify(fixture('quay', 'vulnerability-found.json'))).status).toBe(401);
      expect((await notify(fixture('quay', 'vulnerability-found.json'), 'wrong')).status).toBe(401);
    });

    it('acknowledges a push and quarantines a vulnerability without an id', async () => {
      expect((await notify(fixture('quay', 'repo-push.json'), QUAY_TOKEN)).status).toBe(202);
      const bad = await notify(fixture('quay', 'vulnerability-missing-id.json'), QUAY_TOKEN);
      expect(bad.status).toBe(422);
      const body = (await bad.json()) as { field: string; eventId: string };
      expect(body.field).toBe('vulnerability.id');
      expect(await quarantined()).toContain(body.eventId);
    });
  });

  describe('plain registry notifications', () => {
    const notify = (body: string, token = REGISTRY_TOKEN) =>
      fetch(`${klaxon.url}/v1/webhooks/registry`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/vnd.docker.distribution.events.v2+json', authorization: `Bearer ${token}` },
      });

    it('records a manifest push as an image asset, acknowledges pulls, refuses a wrong token', async () => {
      const res = await notify(fixture('distribution', 'push.json'));
      expect(res.status).toBe(202);
      const event = await settled(((await res.json()) as { eventId: string }).eventId, 'the push');
      expect(event.parsed).toMatchObject({ format: 'registry', findings: 0, assets: 1 });
      const pull = await notify(fixture('distribution', 'pull.json'));
      expect(pull.status).toBe(202);
      expect(((await pull.json()) as { ignored?: string }).ignored).toBeTruthy();
      expect((await notify(fixture('distribution', 'push.json'), 'wrong')).status).toBe(401);
      const bad = await notify(fixture('distribution', 'push-missing-digest.json'));
      expect(bad.status).toBe(422);
      expect(await quarantined()).toContain(((await bad.json()) as { eventId: string }).eventId);
    });
  });

  describe('report uploads', () => {
    const upload = (body: string, query = '') => klaxon.api(`/v1/reports${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

    it('takes SARIF from CodeQL, detected without ?format=, and resolves its findings when a newer run is empty', async () => {
      const res = await upload(fixture('sarif', 'codeql-checkout.sarif.json'), '?pr=42');
      expect(res.status).toBe(202);
      const body = (await res.json()) as { eventId: string; format: string };
      expect(body.format).toBe('sarif');
      const first = await settled(body.eventId, 'the CodeQL run');
      expect(first.parsed).toMatchObject({ findings: 6, scopes: 1 });
      expect(first.triage.new).toBe(6);

      const empty = await upload(fixture('sarif', 'empty.sarif.json'), '?format=sarif');
      const second = await settled(((await empty.json()) as { eventId: string }).eventId, 'the empty run');
      expect(second.triage.resolved).toBe(6);
    });

    it('takes Trivy and Semgrep SARIF with build context', async () => {
      for (const name of ['trivy-image.sarif.json', 'semgrep-checkout.sarif.json']) {
        const res = await upload(fixture('sarif', name), `?format=sarif&repo=acme/checkout&commit=${SHA}`);
        expect(res.status).toBe(202);
        const event = await settled(((await res.json()) as { eventId: string }).eventId, name);
        expect(event.parsed.findings).toBeGreaterThan(0);
      }
    });

    it('takes Grype JSON, detected, with its image asset', async () => {
      const res = await upload(fixture('grype', 'image-checkout.grype.json'), '?pr=42');
      const body = (await res.json()) as { eventId: string; format: string };
      expect(body.format).toBe('grype');
      const event = await settled(body.eventId, 'the Grype report');
      expect(event.parsed).toMatchObject({ findings: 7, assets: 1, scopes: 1 });
      expect(event.triage.new).toBeGreaterThan(0);
    });

    it.each([
      ['sarif', 'version-2.0.0.sarif.json', 'version'],
      ['sarif', 'missing-rule-id.sarif.json', 'runs[0].results[0].ruleId'],
      ['grype', 'missing-artifact-name.grype.json', 'matches[0].artifact.name'],
    ])('rejects a broken %s report (%s) with 422 naming %s and quarantines it', async (format, name, field) => {
      const res = await upload(fixture(format, name), `?format=${format}`);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { field: string; eventId: string; quarantined: boolean };
      expect(body).toMatchObject({ field, quarantined: true });
      expect(await quarantined()).toContain(body.eventId);
    });
  });
});
