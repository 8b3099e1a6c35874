import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraEmulator } from '../emulators/jira.emulator';
import { checkoutReport, deadLetterOf, deadLetters, delivered, emptyReport, postReport, regressedReport, replay } from '../support/destinations';
import { startTestKlaxon, withTestKlaxon, type TestKlaxon } from '../support/klaxon';
import { testPrefix } from '../support/redis';
import { waitFor } from '../support/wait';

const report = checkoutReport;

/** The fixture's critical findings (vulnerabilities one per CVE and package, failed checks, secrets): one ticket each. */
const criticals = (() => {
  type Item = { VulnerabilityID?: string; PkgName?: string; ID?: string; RuleID?: string; Severity: string; Status?: string };
  const doc = JSON.parse(report) as { Results: { Vulnerabilities?: Item[] | null; Misconfigurations?: Item[] | null; Secrets?: Item[] | null }[] };
  const all = doc.Results.flatMap((r) => [
    ...(r.Vulnerabilities ?? []),
    ...(r.Misconfigurations ?? []).filter((m) => m.Status === 'FAIL'),
    ...(r.Secrets ?? []),
  ]).filter((v) => v.Severity === 'CRITICAL');
  return new Set(all.map((v) => `${v.VulnerabilityID ?? v.ID ?? v.RuleID}|${v.PkgName ?? ''}`)).size;
})();

const config = (jira: JiraEmulator, password = jira.password) => `
server:
  maxBodyBytes: 2097152
destinations:
  jira-sec:
    type: jira
    protocol: http
    host: ${jira.host}
    port: ${jira.port}
    username: ${jira.username}
    password: ${password}
    project: SEC
    issueType: Vulnerability
routes:
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1d
  routes:
    - name: criticals
      match: ["severity >= critical"]
      to: [jira-sec]
      groupBy: [artifact.repository]
`;

const triaged = (klaxon: TestKlaxon, eventId: string) =>
  waitFor(async () => {
    const event = await klaxon.runtime.events.get(eventId);
    return event?.status === 'triaged' || event?.status === 'routed' ? event : undefined;
  }, `triage of ${eventId}`);

describe('Jira through the running app: one ticket per critical finding, closed and reopened with it', () => {
  let jira: JiraEmulator;
  let klaxon: TestKlaxon;

  beforeAll(async () => {
    jira = await JiraEmulator.start();
    klaxon = await startTestKlaxon(config(jira));
  });
  afterAll(async () => {
    await klaxon?.close();
    await jira?.stop();
  });

  it('creates one ticket per critical finding with its label and priority', async () => {
    const eventId = await postReport(klaxon, report, '&repo=acme/checkout&pr=42');

    await waitFor(() => jira.issues.length >= criticals, `${criticals} tickets`, 20_000);
    expect(jira.issues).toHaveLength(criticals);
    for (const issue of jira.issues) {
      expect(issue.fields.priority).toEqual({ name: 'Highest' });
      expect(issue.fields.labels.filter((l) => /^klaxon-[0-9a-f]{16}$/.test(l))).toHaveLength(1);
      expect(issue.fields.description).toContain('h3. ');
    }
    const labels = jira.issues.flatMap((i) => i.fields.labels.filter((l) => /^klaxon-[0-9a-f]{16}$/.test(l)));
    expect(new Set(labels).size).toBe(criticals);
    const event = await delivered(klaxon, eventId, 'the delivery record');
    expect(Object.values(event.deliveries as Record<string, { destination: string }>)[0]!.destination).toBe('jira-sec');
  });

  it('creates nothing when the same report comes again', async () => {
    const eventId = await postReport(klaxon, report);
    const event = await triaged(klaxon, eventId);

    expect(event.triage?.new).toBe(0);
    expect(jira.issues).toHaveLength(criticals);
  });

  it('moves every ticket to Done with a comment when a newer scan no longer has them', async () => {
    await postReport(klaxon, emptyReport);

    await waitFor(() => jira.issues.every((i) => i.status === 'Done'), 'every ticket done', 30_000);
    for (const issue of jira.issues) {
      expect(issue.history).toEqual(['Done']);
      expect(issue.comments).toHaveLength(1);
      expect(String(issue.comments[0]!.body)).toContain('no longer reported');
    }
  });

  it('reopens the same tickets when the findings come back, creating none', async () => {
    await postReport(klaxon, regressedReport);

    await waitFor(() => jira.issues.every((i) => i.status === 'To Do'), 'every ticket reopened', 30_000);
    expect(jira.issues).toHaveLength(criticals);
    for (const issue of jira.issues) expect(issue.history).toEqual(['Done', 'Reopen']);
  });

  it('finds the tickets by label with a lost ledger (a fresh prefix) and creates no second one', async () => {
    await withTestKlaxon(config(jira), async (fresh) => {
      const eventId = await postReport(fresh, report);
      await delivered(fresh, eventId, 'the delivery from the fresh app');
      expect(jira.issues).toHaveLength(criticals);
      expect(jira.calls.some((c) => c.path.endsWith('/search'))).toBe(true);
    });
  });
});

describe('Jira delivery failures', () => {
  let jira: JiraEmulator;

  beforeAll(async () => {
    jira = await JiraEmulator.start();
  });
  afterAll(async () => {
    await jira?.stop();
  });

  it('rides out a 429 and two 503s without losing or repeating a ticket', async () => {
    jira.failNext(1, { status: 429, retryAfter: 1 }, /\/search$/);
    jira.failNext(2, { status: 503 }, /\/issue$/);
    await withTestKlaxon(config(jira), async (klaxon) => {
      await postReport(klaxon, report);
      await waitFor(() => jira.issues.length === criticals, `${criticals} tickets after the faults`, 45_000);
      const statuses = jira.calls.map((c) => c.status);
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => s === 503)).toHaveLength(2);
      expect(jira.issues).toHaveLength(criticals);
    });
  });

  it('dead-letters a wrong password and delivers on replay once the config is fixed', async () => {
    jira.reset();
    const prefix = testPrefix('e2e-jira-dlq');
    const letterId = await withTestKlaxon(
      config(jira, 'wrong-password'),
      async (broken) => {
        await postReport(broken, report);
        const letter = await deadLetterOf(broken, 'deliver.jira-sec');
        expect(letter.error.message).toContain('jira: HTTP 401');
        expect(letter.error.message).not.toContain('wrong-password');
        expect(jira.issues).toEqual([]);
        return letter.id;
      },
      { prefix },
    );

    await withTestKlaxon(
      config(jira),
      async (fixed) => {
        await replay(fixed, letterId);
        await waitFor(() => jira.issues.length === criticals, 'the tickets after replay', 30_000);
        expect((await deadLetters(fixed)).map((l) => l.id)).not.toContain(letterId);
      },
      { prefix },
    );
  });
});
