import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchVulnerabilityReport, HarborRateLimited, vulnerabilitiesUrl } from '../../apps/collector/src/harbor/harbor.client';
import { HarborEmulator, ROBOT_PASSWORD, ROBOT_USERNAME } from './harbor.emulator';

const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const V11 = 'application/vnd.security.vulnerability.report; version=1.1';
const report = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/harbor/report-checkout.json'), 'utf8')) as Record<string, unknown>;

describe('Harbor report pull against the Harbor emulator', () => {
  let harbor: HarborEmulator;
  const robot = () => ({ url: harbor.url, username: ROBOT_USERNAME, password: ROBOT_PASSWORD });

  beforeAll(async () => {
    harbor = await HarborEmulator.start();
    harbor.setReport('shop', 'shop/checkout', DIGEST, report);
    harbor.setReport('shop', 'shop/team/checkout', DIGEST, report);
  });
  afterAll(() => harbor?.stop());
  beforeEach(() => {
    harbor.requests.length = 0;
  });

  it('fetches the report keyed by MIME type with the robot account', async () => {
    const body = await fetchVulnerabilityReport(robot(), { project: 'shop', repository: 'shop/checkout', reference: DIGEST });
    expect(Object.keys(JSON.parse(body))).toEqual([V11]);
    expect(harbor.requests[0]).toMatchObject({ status: 200, username: ROBOT_USERNAME, repository: 'checkout', reference: DIGEST });
    expect(harbor.requests[0]!.acceptVulnerabilities).toContain(V11);
  });

  it('encodes a nested repository name twice, as Harbor requires', async () => {
    expect(vulnerabilitiesUrl('https://harbor.example.com/', { project: 'shop', repository: 'shop/team/checkout', reference: DIGEST })).toBe(
      `https://harbor.example.com/api/v2.0/projects/shop/repositories/team%252Fcheckout/artifacts/${encodeURIComponent(DIGEST)}/additions/vulnerabilities`,
    );
    await fetchVulnerabilityReport(robot(), { project: 'shop', repository: 'shop/team/checkout', reference: DIGEST });
    expect(harbor.requests[0]).toMatchObject({ status: 200, repository: 'team/checkout' });
    // Encoded once, the name splits Harbor's route: the emulator answers as Harbor does.
    const once = await fetch(`${harbor.url}/api/v2.0/projects/shop/repositories/team%2Fcheckout/artifacts/${DIGEST}/additions/vulnerabilities`, {
      headers: { authorization: `Basic ${Buffer.from(`${ROBOT_USERNAME}:${ROBOT_PASSWORD}`).toString('base64')}` },
    });
    expect(once.status).toBe(404);
  });

  it('gives up with the config keys to check when Harbor refuses the credentials', async () => {
    const err = await fetchVulnerabilityReport({ ...robot(), password: 'wrong' }, { project: 'shop', repository: 'shop/checkout', reference: DIGEST }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.message).toMatch(/401.*sources\.harbor\.username\/password/);
    expect(err.message).not.toContain('wrong');
  });

  it('gives up on an artifact Harbor does not have', async () => {
    const err = await fetchVulnerabilityReport(robot(), { project: 'shop', repository: 'shop/cart', reference: DIGEST }).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.message).toMatch(/404/);
  });

  it('waits as long as Harbor says on 429 and retries other server errors', async () => {
    harbor.failNext(1, { status: 429, retryAfter: 7 });
    const limited = await fetchVulnerabilityReport(robot(), { project: 'shop', repository: 'shop/checkout', reference: DIGEST }).catch((e) => e);
    expect(limited).toBeInstanceOf(HarborRateLimited);
    expect(limited).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000 });

    harbor.failNext(1, { status: 503 });
    const unavailable = await fetchVulnerabilityReport(robot(), { project: 'shop', repository: 'shop/checkout', reference: DIGEST }).catch((e) => e);
    expect(unavailable).toBeInstanceOf(Error);
    expect(unavailable).not.toBeInstanceOf(UnrecoverableError);
    expect(unavailable.message).toMatch(/503/);
  });
});
