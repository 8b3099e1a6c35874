import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { main } from './cli';

function capture() {
  const lines: string[] = [];
  const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) } as unknown as Console;
  return { out, text: () => lines.join('\n') };
}

describe('klaxon CLI', () => {
  it('config validate: exit 0 for the shipped config', async () => {
    const { out, text } = capture();
    expect(await main(['config', 'validate', resolve(__dirname, '../../../config/klaxon.yaml')], out)).toBe(0);
    expect(text()).toMatch(/valid \(0 destinations/);
  });

  it('config validate: exit 1 with every problem named by its path', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'klaxon-cli-')), 'bad.yaml');
    writeFileSync(file, 'destinations:\n  s:\n    type: slack\n    token: x\nroutes:\n  to: [s, nowhere]\n  groupWait: later\n');
    const { out, text } = capture();
    expect(await main(['config', 'validate', file], out)).toBe(1);
    expect(text()).toContain('destinations.s.channel: required');
    expect(text()).toContain('routes.groupWait: "later" is not a duration like 30s, 5m, 4h, 1d');
  });

  it('config validate: refuses GitHub check runs with a token, saying only a GitHub App may create them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'klaxon-cli-'));
    const github = (auth: string) => `destinations:\n  gh:\n    type: github\n    checkRuns: true\n${auth}routes:\n  to: [gh]\n`;
    writeFileSync(join(dir, 'token.yaml'), github('    token: ghp_personal\n'));
    writeFileSync(join(dir, 'app.yaml'), github('    appId: "1234"\n    privateKey: pem\n    installationId: "42"\n'));
    // An installation token (GitHub Actions' GITHUB_TOKEN) may write check runs: it is the App's.
    writeFileSync(join(dir, 'actions.yaml'), github('    token: ghs_actionsInstallationToken\n'));

    const token = capture();
    expect(await main(['config', 'validate', join(dir, 'token.yaml')], token.out)).toBe(1);
    expect(token.text()).toContain('destinations.gh.checkRuns: only a GitHub App may create check runs (GitHub answers 403 to a personal or OAuth token)');
    const app = capture();
    expect(await main(['config', 'validate', join(dir, 'app.yaml')], app.out)).toBe(0);
    const actions = capture();
    expect(await main(['config', 'validate', join(dir, 'actions.yaml')], actions.out)).toBe(0);
  });

  it('config validate: exit 1 for a file that does not exist', async () => {
    const { out, text } = capture();
    expect(await main(['config', 'validate', '/nonexistent/klaxon.yaml'], out)).toBe(1);
    expect(text()).toContain('cannot read: ENOENT');
  });

  it('unknown commands and start of an unknown app exit 2 with usage', async () => {
    const { out, text } = capture();
    expect(await main(['frobnicate'], out)).toBe(2);
    expect(text()).toContain('Usage: klaxon <command>');
    expect(await main(['start', 'scheduler'], out)).toBe(2);
    expect(text()).toContain('unknown app "scheduler"');
  });

  it('the klaxon binary takes a whole percent for the heap growth, and refuses anything else before it starts', () => {
    const bin = resolve(__dirname, '../bin/klaxon.js');
    const run = (value: string) =>
      spawnSync(process.execPath, [bin, 'help'], { env: { ...process.env, KLAXON_HEAP_GROWING_PERCENT: value }, encoding: 'utf8' });
    const bad = run('twice');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('KLAXON_HEAP_GROWING_PERCENT is "twice": expected a whole number of percent');
    for (const good of ['100', '0']) {
      const ok = run(good);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('help');
    }
  }, 60_000);
});
