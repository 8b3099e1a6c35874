import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { SEVERITIES, toFinding, type Finding, type Severity } from '@klaxon/findings';
import type { Notification, NotificationChanges } from '@klaxon/routing';
import { renderSlack, SLACK_LIMITS } from './render';

const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

function vulnerability(
  id: string,
  severity: Severity,
  pkg: { name?: string; installed?: string; fixed?: string } = {},
  over: { title?: string; repository?: string } = {},
): Finding {
  const name = pkg.name ?? 'openssl';
  return toFinding({
    kind: 'vulnerability',
    stage: 'registry',
    source: { tool: 'trivy', integration: 'harbor' },
    title: over.title ?? `${name}: a flaw tracked as ${id}`,
    severity,
    rule: { id },
    artifact: { registry: 'harbor.example.com', repository: over.repository ?? 'shop/checkout', digest: DIGEST },
    package: { name, ecosystem: 'debian', installed: pkg.installed ?? '3.0.11-1', fixed: pkg.fixed },
    fixable: pkg.fixed !== undefined,
    observedAt: '2024-11-23T10:00:00Z',
  });
}

function notification(changes: Partial<NotificationChanges>, over: Partial<Notification> = {}): Notification {
  return {
    id: 'n-1',
    key: 'images:shop/checkout',
    route: 'images',
    destination: 'sec-slack',
    groupLabels: { 'artifact.repository': 'shop/checkout' },
    createdAt: '2024-11-23T10:05:00.000Z',
    changes: { new: [], regressed: [], resolved: [], open: [], ...changes },
    ...over,
  };
}

function header(blocks: KnownBlock[]): string {
  const first = blocks[0];
  if (first?.type !== 'header') throw new Error('first block is not a header');
  return first.text.text;
}

function sectionTexts(blocks: KnownBlock[]): string[] {
  return blocks.flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : []));
}

/** Every mrkdwn or plain text the message carries, fallback text included. */
function allText(rendering: { text: string; blocks: KnownBlock[] }): string {
  return JSON.stringify(rendering);
}

describe('renderSlack', () => {
  it('names the group and counts the new findings by severity, most severe first', () => {
    const n = notification({
      new: [
        vulnerability('CVE-2024-0003', 'high'),
        vulnerability('CVE-2024-0001', 'critical', { fixed: '3.0.13-1' }),
        vulnerability('CVE-2024-0005', 'low'),
        vulnerability('CVE-2024-0002', 'high'),
        vulnerability('CVE-2024-0004', 'medium'),
      ],
    });

    const { blocks, text } = renderSlack(n, {});

    expect(header(blocks)).toBe('5 new findings in shop/checkout: 1 critical, 2 high, 1 medium, 1 low');
    expect(text.split('\n')[0]).toBe(header(blocks));
    const sections = sectionTexts(blocks);
    expect(sections.map((s) => s.split('\n')[0])).toEqual([
      ':red_circle: *Critical* (1)',
      ':large_orange_circle: *High* (2)',
      ':large_yellow_circle: *Medium* (1)',
      ':large_blue_circle: *Low* (1)',
    ]);
    expect(sections[1]!.indexOf('CVE-2024-0002')).toBeLessThan(sections[1]!.indexOf('CVE-2024-0003'));
  });

  it('shows each finding with its rule, package installed → fixed, and image', () => {
    const n = notification({
      new: [
        vulnerability('CVE-2024-2511', 'critical', { installed: '3.0.11-1', fixed: '3.0.13-1' }),
        vulnerability('CVE-2024-9999', 'high', { name: 'zlib', installed: '1.2.13' }),
      ],
    });

    const [critical, high] = sectionTexts(renderSlack(n, {}).blocks);

    expect(critical).toContain('*CVE-2024-2511*');
    expect(critical).toContain('openssl `3.0.11-1` → `3.0.13-1`');
    expect(critical).toContain('harbor.example.com/shop/checkout@sha256:9f2c1a7e3b5d');
    expect(high).toContain('zlib `1.2.13` → no fix yet');
  });

  it('marks regressed findings and says so in the header', () => {
    const regressed = vulnerability('CVE-2023-0001', 'critical');
    const n = notification({ new: [vulnerability('CVE-2024-0001', 'high')], regressed: [regressed] });

    const { blocks } = renderSlack(n, {});

    expect(header(blocks)).toBe('1 new and 1 regressed findings in shop/checkout: 1 critical, 1 high');
    expect(sectionTexts(blocks)[0]).toContain('*CVE-2023-0001* openssl: a flaw tracked as CVE-2023-0001 _(regressed)_');
  });

  it('links rule ids to the finding in Klaxon when its URL is known', () => {
    const finding = vulnerability('CVE-2024-2511', 'critical');

    const { blocks } = renderSlack(notification({ new: [finding] }), { klaxonUrl: 'https://klaxon.example.com/' });

    expect(sectionTexts(blocks)[0]).toContain(`*<https://klaxon.example.com/v1/findings/${finding.fingerprint}|CVE-2024-2511>*`);
  });

  it('stays within Slack limits for 5,000 findings and summarizes the rest as "+N more"', () => {
    const findings = Array.from({ length: 5000 }, (_, i) =>
      vulnerability(`CVE-2024-${String(i).padStart(5, '0')}`, SEVERITIES[i % SEVERITIES.length]!, {
        name: `package-${i}`,
        fixed: i % 2 ? `${i}.0.1` : undefined,
      }),
    );
    const resolved = findings.splice(0, 500);

    const rendering = renderSlack(notification({ new: findings, resolved }), { klaxonUrl: 'https://klaxon.example.com' });

    expect(rendering.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(header(rendering.blocks).length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    expect(rendering.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    const sections = sectionTexts(rendering.blocks);
    for (const text of sections) expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(header(rendering.blocks)).toBe('4500 new findings in shop/checkout: 900 critical, 900 high, 900 medium, 900 low, 900 info');
    const all = sections.join('\n');
    expect(all).toContain('_+880 more critical_');
    expect(all).toContain('_+480 more resolved_');
    // Shown plus summarized adds up to every finding: nothing silently dropped.
    const shown = (all.match(/^• /gm) ?? []).length;
    const more = [...all.matchAll(/_\+(\d+) more /g)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(shown + more).toBe(5000);
  });

  it('keeps every section under 3000 characters when titles are huge', () => {
    const findings = Array.from({ length: 40 }, (_, i) =>
      vulnerability(`CVE-2024-${1000 + i}`, 'critical', { name: 'p'.repeat(5000) }, { title: '<&>'.repeat(5000) }),
    );

    const { blocks } = renderSlack(notification({ new: findings }), {});

    expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const text of sectionTexts(blocks)) expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(sectionTexts(blocks).join('\n')).toContain('_+20 more critical_');
  });

  it('escapes mentions and links in user-controlled text so they never ping or link', () => {
    const evil = vulnerability(
      '<!here>',
      'critical',
      { name: '<!everyone>', installed: '<@U123>', fixed: '`<!channel>`' },
      { title: 'ping <!channel> and <@U123>, click <https://evil.example|here> & <#C1>', repository: '<!channel>' },
    );
    const n = notification({ new: [evil] }, { groupLabels: { 'artifact.repository': '<!subteam^S1>' } });

    const rendering = renderSlack(n, {});
    const text = allText(rendering);

    for (const raw of ['<!channel>', '<!here>', '<!everyone>', '<@U123>', '<https://evil', '<#C1>', '<!subteam']) {
      expect(text).not.toContain(raw);
    }
    expect(text).toContain('ping &lt;!channel&gt; and &lt;@U123&gt;, click &lt;https://evil.example|here&gt; &amp; &lt;#C1&gt;');
    expect(header(rendering.blocks)).toContain('&lt;!subteam^S1&gt;');
  });

  it('does not link references that could break out of a Slack link', () => {
    const f = vulnerability('CVE-2024-0001', 'high');
    const withRef = { ...f, rule: { ...f.rule, references: ['https://evil.example|<!channel>', 'https://nvd.nist.gov/vuln/detail/CVE-2024-0001'] } };

    const [section] = sectionTexts(renderSlack(notification({ new: [withRef] }), {}).blocks);

    expect(section).toContain('*<https://nvd.nist.gov/vuln/detail/CVE-2024-0001|CVE-2024-0001>*');
    expect(section).not.toContain('evil.example');
  });

  it('lists resolved findings in their own section below the new ones', () => {
    const n = notification({
      new: [vulnerability('CVE-2024-0001', 'high')],
      resolved: [vulnerability('CVE-2023-0001', 'critical'), vulnerability('CVE-2023-0002', 'low')],
      open: [vulnerability('CVE-2022-0001', 'medium')],
    });

    const { blocks } = renderSlack(n, {});

    expect(header(blocks)).toBe('1 new finding in shop/checkout: 1 high');
    expect(blocks.map((b) => b.type)).toEqual(['header', 'context', 'section', 'divider', 'section']);
    const resolved = sectionTexts(blocks)[1]!;
    expect(resolved.split('\n')[0]).toBe(':white_check_mark: *Resolved* (2)');
    expect(resolved).toContain('*CVE-2023-0001* openssl: a flaw tracked as CVE-2023-0001 _(critical)_');
    expect(JSON.stringify(blocks[1])).toContain('1 still open');
  });

  it('renders the whole group as resolved when everything in it resolved', () => {
    const n = notification({
      resolved: [vulnerability('CVE-2024-0001', 'critical'), vulnerability('CVE-2024-0002', 'high')],
    });

    const { blocks, text } = renderSlack(n, {});

    expect(header(blocks)).toBe(':white_check_mark: All 2 findings resolved in shop/checkout');
    expect(text.startsWith(':white_check_mark: All 2 findings resolved')).toBe(true);
    expect(blocks.map((b) => b.type)).toEqual(['header', 'context', 'section']);
    expect(sectionTexts(blocks)[0]).not.toContain('*Critical*');
  });

  it('reports partial resolution when some findings stay open', () => {
    const n = notification({
      resolved: [vulnerability('CVE-2024-0001', 'critical')],
      open: [vulnerability('CVE-2024-0002', 'high')],
    });

    const { blocks } = renderSlack(n, {});

    expect(header(blocks)).toBe('1 finding resolved in shop/checkout');
    expect(JSON.stringify(blocks[1])).toContain('1 still open');
  });

  it('counts what was told before from the told counts, without its records', () => {
    const told = { count: 3, bySeverity: { critical: 1, high: 2 }, fingerprints: ['a', 'b', 'c'] };
    const partial = notification({ resolved: [vulnerability('CVE-2024-0001', 'critical')], told });
    expect(header(renderSlack(partial, {}).blocks)).toBe('1 finding resolved in shop/checkout');
    expect(JSON.stringify(renderSlack(partial, {}).blocks[1])).toContain('3 still open');

    // A repeat with nothing changed: the reminder counts what is open, most severe first.
    const reminder = renderSlack(notification({ told }), {});
    expect(header(reminder.blocks)).toBe('3 findings still open in shop/checkout: 1 critical, 2 high');
    expect(reminder.text.startsWith('3 findings still open')).toBe(true);
  });

  it('names the group from its findings when the route groups by nothing', () => {
    const n = notification({ new: [vulnerability('CVE-2024-0001', 'high', {}, { repository: 'shop/cart' })] }, { groupLabels: {} });

    expect(header(renderSlack(n, {}).blocks)).toBe('1 new finding in shop/cart: 1 high');
  });

  it('cuts a long group name so the header stays within 150 characters', () => {
    const n = notification({ new: [vulnerability('CVE-2024-0001', 'high')] }, { groupLabels: { repo: 'x'.repeat(400) } });

    const title = header(renderSlack(n, {}).blocks);

    expect(title.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    expect(title).toMatch(/^1 new finding in x+…: 1 high$/);
  });

  it('is deterministic: same notification, same message, whatever the order of findings', () => {
    const findings = ['CVE-1', 'CVE-2', 'CVE-3', 'CVE-4'].map((id, i) => vulnerability(id, i % 2 ? 'high' : 'critical'));
    const a = renderSlack(notification({ new: findings }), {});
    const b = renderSlack(notification({ new: [...findings].reverse() }), {});

    expect(b).toEqual(a);
    expect(JSON.stringify(a.blocks[1])).toContain('2024-11-23 10:05 UTC');
  });
});

describe('renderSlack links and remediation', () => {
  it('links the pull request a finding came from and shows the tool’s remediation', () => {
    const f = {
      ...vulnerability('CVE-2024-2511', 'critical', { fixed: '3.0.13-1' }),
      code: { repo: 'acme/checkout', pullRequest: 42 },
      remediation: 'Rebuild on <debian:12.6> & redeploy',
    };

    const [section] = sectionTexts(renderSlack(notification({ new: [f] }), {}).blocks);

    expect(section).toContain('acme/checkout (<https://github.com/acme/checkout/pull/42|PR #42>)');
    expect(section).toContain('_Fix:_ Rebuild on &lt;debian:12.6&gt; &amp; redeploy');
  });

  it('does not link a pull request of a repo name that could break out of the link', () => {
    const f = { ...vulnerability('CVE-2024-2511', 'high'), code: { repo: 'acme/x|<!channel>', pullRequest: 7 } };

    const [section] = sectionTexts(renderSlack(notification({ new: [f] }), {}).blocks);

    expect(section).toContain('acme/x|&lt;!channel&gt; (PR #7)');
    expect(section).not.toContain('<https://github.com/acme/x');
  });

  it('says each thing once: no rule id repeated from the title, no fix line that only restates the fixed version', () => {
    const upgrade = {
      ...vulnerability('CVE-2024-5535', 'critical', { fixed: '3.0.13-1' }, { title: 'CVE-2024-5535 in openssl — buffer overread' }),
      remediation: 'Upgrade openssl from 3.0.11-1 to 3.0.13-1',
    };
    const config = toFinding({
      kind: 'misconfiguration',
      stage: 'build',
      source: { tool: 'trivy', integration: 'report' },
      title: 'Image user should not be root',
      severity: 'high',
      rule: { id: 'AVD-DS-0002' },
      artifact: { repository: 'shop/checkout' },
      fixable: true,
      remediation: 'Add a USER instruction with a non-root user',
      observedAt: '2024-11-23T10:00:00Z',
    });
    const text = JSON.stringify(renderSlack(notification({ new: [upgrade, config] }), {}).blocks);
    expect(text).toContain('*CVE-2024-5535* in openssl — buffer overread');
    expect(text).not.toContain('Upgrade openssl from');
    expect(text).toContain('_Fix:_ Add a USER instruction with a non-root user');
  });
});
