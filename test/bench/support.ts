import IORedis, { type Redis } from 'ioredis';

/** Total commands Redis has executed (INFO commandstats), scripts' inner calls included. */
export async function redisCommandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(match[1]);
  return total;
}

let roundTrips = 0;
let counting = false;

/**
 * Round trips to Redis from this process since the first call: every pipeline or MULTI sent counts
 * one, every command sent on its own counts one (the blocking waits of BullMQ's workers among them).
 * Counted in ioredis itself, so it sees every connection of an in-process Klaxon.
 */
export function redisRoundTrips(): number {
  if (!counting) {
    counting = true;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Pipeline = require('ioredis/built/Pipeline').default as { prototype: { exec: (...args: unknown[]) => unknown; _queue: unknown[] } };
    const exec = Pipeline.prototype.exec;
    Pipeline.prototype.exec = function (this: { _queue: unknown[] }, ...args: unknown[]) {
      if (this._queue.length) roundTrips++;
      return exec.apply(this, args);
    };
    const proto = IORedis.prototype as unknown as { sendCommand: (command: unknown, stream?: unknown) => unknown };
    const send = proto.sendCommand;
    proto.sendCommand = function (this: unknown, command: unknown, stream?: unknown) {
      // A pipeline hands its commands a stream to collect them in; a command sent alone has none.
      if (stream === undefined) roundTrips++;
      return send.call(this, command, stream);
    };
  }
  return roundTrips;
}

export function formatRate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')}/s`;
}

/**
 * A Trivy SchemaVersion 2 image report with `count` vulnerabilities spread over OS and language
 * packages, every fourth one unfixed: the shape of test/fixtures/trivy/image-checkout.json at scale.
 */
export function syntheticTrivyReport(count: number, digest: string, opts: { repository?: string; firstCve?: number } = {}): string {
  const repository = opts.repository ?? 'shop/checkout';
  const first = 10000 + (opts.firstCve ?? 0);
  const severities = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];
  const vuln = (i: number) => ({
    VulnerabilityID: `CVE-2024-${String(first + i)}`,
    PkgID: `pkg-${i % 700}@1.${i % 9}.0`,
    PkgName: `pkg-${i % 700}`,
    PkgIdentifier: { PURL: `pkg:deb/debian/pkg-${i % 700}@1.${i % 9}.0?arch=amd64&distro=debian-12.5` },
    InstalledVersion: `1.${i % 9}.0`,
    FixedVersion: i % 4 === 0 ? '' : `1.${i % 9}.1`,
    Status: i % 4 === 0 ? 'affected' : 'fixed',
    SeveritySource: 'nvd',
    PrimaryURL: `https://avd.aquasec.com/nvd/cve-2024-${10000 + i}`,
    Title: `pkg-${i % 700}: memory corruption in parser ${i}`,
    Description: 'A crafted input can cause an out-of-bounds write. '.repeat(4),
    Severity: severities[i % severities.length],
    CVSS: { nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', V3Score: 9.8 - (i % 50) / 10 } },
    References: [`https://security-tracker.debian.org/tracker/CVE-2024-${10000 + i}`],
  });
  const half = Math.floor(count / 2);
  return JSON.stringify({
    SchemaVersion: 2,
    CreatedAt: '2026-11-23T10:00:00Z',
    ArtifactName: `harbor.example.com/${repository}:1.4.2`,
    ArtifactType: 'container_image',
    Metadata: {
      OS: { Family: 'debian', Name: '12.5' },
      ImageID: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      RepoTags: [`harbor.example.com/${repository}:1.4.2`],
      RepoDigests: [`harbor.example.com/${repository}@${digest}`],
      ImageConfig: { config: { Labels: { 'org.opencontainers.image.source': 'https://github.com/acme/checkout' } } },
    },
    Results: [
      {
        Target: `harbor.example.com/${repository}:1.4.2 (debian 12.5)`,
        Class: 'os-pkgs',
        Type: 'debian',
        Vulnerabilities: Array.from({ length: half }, (_, i) => vuln(i)),
      },
      { Target: 'Node.js', Class: 'lang-pkgs', Type: 'node-pkg', Vulnerabilities: Array.from({ length: count - half }, (_, i) => vuln(half + i)) },
    ],
  });
}

/** A bench's number of runs from the environment variable `name`: 1 when unset. */
export function runCount(name: string): number {
  const value = process.env[name];
  if (value === undefined || value === '') return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: "${value}" is not a whole number of runs, 1 or more`);
  return n;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One run: the value. Several: the median, then the lowest and highest. */
export function spread(values: number[], format: (v: number) => string): string {
  if (values.length === 1) return format(values[0]);
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
}
