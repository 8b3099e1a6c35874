import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { APP_ID, GitHubEmulator } from '../emulators/github.emulator';
import { deadLetterOf, regressedReport, replay } from '../support/destinations';
import { startTestKlaxon, withTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { testPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const fixture = (name: string) => readFileSync(resolve(__dirname, '../fixtures/trivy', name), 'utf8');
const report = fixture('image-checkout.json');
const COMMIT = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const PR_CONTEXT = `&repo=acme/checkout&pr=42&commit=${COMMIT}`;

// Check runs need a GitHub App: the app's id and key (a JSON string is a YAML string with its newlines).
const config = (gh: GitHubEmulator, privateKey = gh.appPrivateKey) => `
server:
  maxBodyBytes: 2097152
destinations:
  gh-pr:
    type: github
    appId: "${APP_ID}"
    privateKey: ${JSON.stringify(privateKey)}
    baseUrl: ${gh.url}
    checkRuns: true
routes:
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1d
  routes:
    - name: pull-requests
      match: ["severity >= high"]
      to: [gh-pr]
      groupBy: [code.repo]
`;

async function post(klaxon: TestKlaxon, body: string, query = ''): Promise<string> {
  const res = await klaxon.api(`/v1/reports?format=trivy${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { eventId: string }).eventId;
}

const delivered = (klaxon: TestKlaxon, eventId: string) =>
  waitFor(
    async () => {
      const e = await klaxon.runtime.events.get(eventId);
      return e && Object.keys(e.deliveries ?? {}).length ? e : undefined;
    },
    `the delivery of ${eventId}`,
    30_000,
  );

const prComments = (gh: GitHubEmulator) => gh.commentsOn('acme/checkout', 42);

describe('GitHub through the running app: one sticky comment on PR 42, edited as the findings change', () => {
  let gh: GitHubEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    gh = await GitHubEmulator.start();
    klaxon = await startTestKlaxon(config(gh));
  });
  afterAll(async () => {
    await klaxon?.close();
    await gh?.stop();
  });

  it('posts one comment with the fixable findings first and a check run on the head commit', async () => {
    await delivered(klaxon, await post(klaxon, report, PR_CONTEXT));

    const comments = prComments(gh);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toMatch(/^<!-- klaxon:pull-request -->\n\n<!-- klaxon-section:[0-9a-f]{20} -->/);
    expect(body).toMatch(/### 🛡️ Klaxon: \d+ open findings at 4e1f0c2/);
    expect(body.indexOf('<b>Fixable')).toBeLessThan(body.indexOf('<b>No fix available yet'));
    expect(body).toContain('[CVE-2024-24790](https://avd.aquasec.com/nvd/cve-2024-24790) in stdlib — golang: net/netip');
    expect(body).toContain('| stdlib | `v1.22.1` | `1.21.11, 1.22.4` |');
    expect(gh.checkRuns).toHaveLength(1);
    expect(gh.checkRuns[0]).toMatchObject({ name: 'Klaxon', head_sha: COMMIT, status: 'completed', conclusion: 'neutral' });
  });

  it('changes nothing when the same report comes again', async () => {
    const eventId = await post(klaxon, report, PR_CONTEXT);
    await waitFor(async () => ((await klaxon.runtime.events.get(eventId))?.triage ? true : undefined), 'triage of the repost');

    expect(prComments(gh)).toHaveLength(1);
    expect(prComments(gh)[0]!.edits).toBe(0);
  });

  it('edits the same comment to resolved when a newer scan has none of the findings', async () => {
    await post(klaxon, fixture('empty.json'));

    await waitFor(() => prComments(gh)[0]!.body.includes('### ✅ Klaxon: no open findings'), 'the resolved comment', 30_000);
    expect(prComments(gh)).toHaveLength(1);
    expect(prComments(gh)[0]!.body).toContain('<b>Resolved since last push');
    await waitFor(() => gh.checkRuns[0]!.conclusion === 'success', 'the check run to pass');
    expect(gh.checkRuns).toHaveLength(1);
  });

  it('edits it again when the findings regress, marking them', async () => {
    await post(klaxon, regressedReport, PR_CONTEXT);

    await waitFor(() => prComments(gh)[0]!.body.includes('🔁'), 'the regressed comment', 30_000);
    expect(prComments(gh)).toHaveLength(1);
    expect(prComments(gh)[0]!.edits).toBe(2);
  });

  it('finds its comment by marker when the ledger is lost (a fresh prefix), posting no second one', async () => {
    for (let i = 0; i < 120; i++) gh.seedComment('acme/checkout', 42, `review note ${i}`);
    await withTestKlaxon(config(gh), async (fresh) => {
      await delivered(fresh, await post(fresh, report, PR_CONTEXT));
      expect(prComments(gh).filter((c) => c.body.startsWith('<!-- klaxon:'))).toHaveLength(1);
      expect(gh.checkRuns).toHaveLength(1);
    });
  });
});

describe('GitHub delivery failures', () => {
  let gh: GitHubEmulator;

  beforeAll(async () => {
    gh = await GitHubEmulator.start();
  });
  afterAll(async () => {
    await gh?.stop();
  });

  it('rides out a secondary rate limit and two 502s with one comment in the end', async () => {
    // The first limit is waited out in the client, the second goes back to the queue with its Retry-After.
    gh.failNext(2, { kind: 'secondary', retryAfter: 1 }, /\/comments$/);
    gh.failNext(2, { kind: 'status', status: 502 }, /\/comments$/);
    await withTestKlaxon(config(gh), async (klaxon) => {
      await delivered(klaxon, await post(klaxon, report, PR_CONTEXT));
      const statuses = gh.calls.map((c) => c.status);
      expect(statuses.filter((s) => s === 403)).toHaveLength(2);
      expect(statuses.filter((s) => s === 502)).toHaveLength(2);
      expect(prComments(gh)).toHaveLength(1);
    });
  }, 45_000);

  it('dead-letters bad credentials and delivers on replay once the key is fixed', async () => {
    gh.reset();
    const prefix = testPrefix('e2e-gh-dlq');
    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const letterId = await withTestKlaxon(
      config(gh, wrongKey),
      async (broken) => {
        await post(broken, report, PR_CONTEXT);
        const letter = await deadLetterOf(broken, 'deliver.gh-pr');
        expect(letter.error.message).toContain('github: HTTP 401 A JSON web token could not be decoded');
        expect(letter.error.message).not.toContain('PRIVATE KEY');
        return letter.id;
      },
      { prefix },
    );

    await withTestKlaxon(
      config(gh),
      async (fixed) => {
        await replay(fixed, letterId);
        await waitFor(() => prComments(gh).length === 1, 'the comment after replay', 30_000);
      },
      { prefix },
    );
  });
});
