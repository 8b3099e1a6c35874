import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HASH_MAX_LISTPACK_VALUE } from '@klaxon/platform';

// No image registry is reachable where the tests run, so the image is not built here: these check the
// Dockerfile and the compose file for what a platform team would refuse in review.
const root = resolve(__dirname, '../..');
const APPS = ['gateway', 'collector', 'pipeline', 'notifier'];

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[] | string;
  ports?: string[];
  environment?: Record<string, string>;
  read_only?: boolean;
  tmpfs?: string[];
  user?: string;
  cap_drop?: string[];
  security_opt?: string[];
  healthcheck?: { disable?: boolean };
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const { redis, ...apps } = compose.services;

  it('runs the four apps as services of the built image, on one Redis', () => {
    expect(Object.keys(apps).sort()).toEqual([...APPS].sort());
    for (const name of APPS) {
      expect(apps[name], name).toMatchObject({ build: '.', command: ['start', name] });
      expect(apps[name]!.environment!.REDIS_URL, name).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD[^}]*\}@redis:6379$/);
    }
  });

  it('keeps Redis off the host network and behind a password from the environment', () => {
    for (const mapping of redis!.ports ?? []) expect(mapping).toMatch(/^127\.0\.0\.1:/);
    expect(redis!.environment!.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?/);
    const command = [redis!.command].flat().join(' ');
    // redis-server as the command: the image's entrypoint then runs it as its redis user, not root.
    expect(command).toMatch(/^redis-server /);
    expect(command).toMatch(/--requirepass \$\{REDIS_PASSWORD:\?/);
    expect(command).toContain('--appendonly yes --appendfsync everysec');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain(`--hash-max-listpack-value ${HASH_MAX_LISTPACK_VALUE}`);
  });

  it('runs every app unprivileged on a read-only root filesystem with a tmpfs for its data', () => {
    for (const name of APPS) {
      const app = apps[name]!;
      expect(app.read_only, name).toBe(true);
      expect(app.tmpfs, name).toContain('/tmp');
      expect(app.user, name).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(app.cap_drop, name).toEqual(['ALL']);
      expect(app.security_opt, name).toContain('no-new-privileges:true');
    }
  });

  it('publishes only the gateway, and asks only the gateway for /healthz', () => {
    expect(apps.gateway!.ports).toEqual(['8080:8080']);
    for (const name of ['collector', 'pipeline', 'notifier']) {
      expect(apps[name]!.ports, name).toBeUndefined();
      expect(apps[name]!.healthcheck, name).toEqual({ disable: true });
    }
  });
});

describe('Dockerfile', () => {
  const lines = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  const stages = lines.reduce<string[][]>((all, line) => (line.startsWith('FROM ') ? [...all, [line]] : (all.at(-1)?.push(line), all)), []);
  const runtime = stages.at(-1)!;

  const stage = (name: string) => stages.find((s) => s[0]!.endsWith(` AS ${name}`))!;

  it('builds in one stage and runs from another that holds only production dependencies and dist/', () => {
    expect(stage('build').join('\n')).toMatch(/^RUN npm run build$/m);
    const from = (what: string) =>
      runtime
        .find((l) => l.startsWith('COPY --from=') && l.endsWith(` ./${what}`))
        ?.split(/\s+/)[1]
        ?.slice('--from='.length);
    expect(stage(from('dist')!).join('\n')).toMatch(/^RUN npm run build$/m);
    expect(stage(from('node_modules')!).join('\n')).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(runtime.find((l) => l.startsWith('ENTRYPOINT'))).toContain('dist/apps/klaxon/bin/klaxon.js');
  });

  it('runs the install scripts package.json approves for every production dependency that has one', () => {
    // Without its script, re2 has no native module and nothing that matches a regex loads.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const { allowScripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
    const needed = Object.entries(lock.packages)
      .filter(([path, p]) => p.hasInstallScript && !p.dev && allowScripts[path.replace(/^.*node_modules\//, '')])
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(needed).toContain('re2');
    const rebuilt = stage('production-dependencies')
      .flatMap((l) => /npm rebuild ([^&]+)/.exec(l)?.[1].trim().split(/\s+/) ?? [])
      .sort();
    expect(rebuilt).toEqual([...new Set(needed)].sort());
  });

  it('runs on a base with neither shell nor package manager, as Klaxon suggests for images', () => {
    expect(lines.find((l) => l.startsWith('ARG RUNTIME_IMAGE='))).toMatch(/=gcr\.io\/distroless\/nodejs\d+-debian\d+/);
    expect(runtime[0]).toBe('FROM ${RUNTIME_IMAGE} AS runtime');
    expect(runtime.filter((l) => l.startsWith('RUN '))).toEqual([]);
  });

  it('runs as a numeric non-root user, writes only under /tmp, and has a healthcheck', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toMatch(/^USER [1-9]\d*(:[1-9]\d*)?$/);
    expect(runtime.join('\n')).toMatch(/KLAXON_DATA_DIR=\/tmp\//);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toContain('/healthz');
  });

  it('copies only what exists, and never the host node_modules', () => {
    for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
      for (const source of line.split(/\s+/).slice(1, -1)) expect(existsSync(join(root, source)), source).toBe(true);
    }
    expect(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data']));
  });
});
