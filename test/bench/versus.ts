import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import IORedis, { type Redis } from 'ioredis';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '@klaxon/platform';

/*
 * Alertmanager's own workload, run on Alertmanager and on Klaxon side by side: `alerts`
 * distinct alerts, `perPost` per POST, `inFlight` POSTs at once, grouped by alertname + instance into
 * groups of 10, group wait 0 s, group interval 1 s, repeat 1 h, one webhook receiver (in this process).
 * Every process of the system under test is measured through /proc: CPU seconds (utime + stime) over
 * the run, and the peak of the summed RSS sampled every 50 ms. KLAXON_VERSUS_TRACE=1 prints the alerts
 * delivered second by second; KLAXON_VERSUS_SLOWLOG=<µs> prints Redis time per script and command.
 */

const ROOT = resolve(__dirname, '..', '..');
const ALERTMANAGER = process.env.KLAXON_ALERTMANAGER_BIN ?? 'prometheus-alertmanager';
const GROUP_SIZE = 10;
const ALERTNAMES = 20;
const TOKEN = 'versus-token';
const CLK_TCK = 100;

export interface Workload {
  alerts: number;
  perPost: number;
  inFlight: number;
}

export const WORKLOAD: Workload = {
  alerts: Number(process.env.KLAXON_VERSUS_ALERTS ?? 20_000),
  perPost: 100,
  inFlight: 4,
};

export interface Figures {
  /** First POST to the last distinct alert at the receiver (ms). */
  deliveredMs: number;
  /** First POST to the last POST answered (ms). */
  ingestMs: number;
  alertsPerSecond: number;
  cpuSeconds: number;
  peakRssBytes: number;
  /** Per process: its name, CPU seconds, peak RSS it reached (VmHWM). */
  processes: { name: string; cpuSeconds: number; hwmBytes: number }[];
  delivered: number;
  duplicates: number;
  notifications: number;
  redis?: {
    bytesPerFinding: number;
    findings: number;
    usedMemoryBytes: number;
    resendGrowthBytes: number;
    resendGrowthPercent: number;
    resendNotifications: number;
    refreshGrowthBytes: number;
    refreshGrowthPercent: number;
    refreshNotifications: number;
    /** Bytes by key family after the first run, largest first. */
    families: [string, number, number][];
    commandstats: [string, number, number][];
  };
}

/** Alert `i`: group `i / 10`, the alertname and instance naming the group, its own workload. */
function alert(i: number) {
  const group = Math.floor(i / GROUP_SIZE);
  return {
    labels: {
      alertname: `KubeAlert${group % ALERTNAMES}`,
      instance: `node-${Math.floor(group / ALERTNAMES)}:9100`,
      severity: ['critical', 'warning', 'info'][i % 3],
      namespace: `ns-${group % 50}`,
      deployment: `svc-${i}`,
      id: String(i),
    },
    annotations: { summary: `svc-${i} needs attention`, description: `Alert ${i} of group ${group}: the workload is not healthy.` },
    startsAt: '2026-11-25T10:00:00Z',
    generatorURL: `http://prometheus.example/graph?g0.expr=up%7Bid%3D%22${i}%22%7D`,
  };
}

function amPosts(w: Workload): string[] {
  const posts: string[] = [];
  for (let first = 0; first < w.alerts; first += w.perPost) {
    posts.push(JSON.stringify(Array.from({ length: Math.min(w.perPost, w.alerts - first) }, (_, k) => alert(first + k))));
  }
  return posts;
}

/** The same alerts as Alertmanager webhook v4 bodies, one receiver group per POST. `endsAt` set: a refresh. */
export function klaxonPosts(w: Workload, endsAt?: string): string[] {
  const posts: string[] = [];
  for (let first = 0, post = 0; first < w.alerts; first += w.perPost, post++) {
    const alerts = Array.from({ length: Math.min(w.perPost, w.alerts - first) }, (_, k) => {
      const a = alert(first + k);
      return { status: 'firing', ...a, ...(endsAt ? { endsAt } : {}), fingerprint: `fp${String(first + k).padStart(8, '0')}` };
    });
    posts.push(
      JSON.stringify({
        version: '4',
        groupKey: `{}:{post="${post}"}`,
        status: 'firing',
        receiver: 'klaxon',
        groupLabels: { post: String(post) },
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager.example',
        alerts,
      }),
    );
  }
  return posts;
}

/** Posts every body, `inFlight` at a time; resolves when all are answered (throws on a non-2xx). */
async function postAll(url: string, bodies: string[], inFlight: number, headers: Record<string, string>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      if (res.status >= 300) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** One run's figures: its times, what the meter read, and what the receiver counted. */
function figuresOf(alerts: number, ingestMs: number, deliveredMs: number, m: ReturnType<Meter['end']>, receiver: Receiver): Figures {
  return {
    deliveredMs,
    ingestMs,
    alertsPerSecond: (alerts / ingestMs) * 1000,
    ...m,
    delivered: receiver.seen.size,
    duplicates: receiver.duplicates,
    notifications: receiver.notifications,
  };
}

/** A webhook receiver counting distinct alert ids (and the repeats of ids already seen) from the bodies it gets. */
class Receiver {
  readonly seen = new Set<string>();
  duplicates = 0;
  notifications = 0;
  readonly trace: [number, number][] = [];
  private keys = new Set<string>();
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(ids: (body: unknown) => { ids: string[]; repeatable: boolean }): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const receiver = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        const key = req.headers['idempotency-key'];
        if (typeof key === 'string') {
          if (receiver.keys.has(key)) return void receiver.duplicates++;
          receiver.keys.add(key);
        }
        receiver.notifications++;
        const { ids: got, repeatable } = ids(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        for (const id of got) {
          if (receiver.seen.has(id)) {
            if (!repeatable) receiver.duplicates++;
          } else receiver.seen.add(id);
        }
        if (process.env.KLAXON_VERSUS_TRACE) receiver.trace.push([Math.round(performance.now()), receiver.seen.size]);
        receiver.waiters = receiver.waiters.filter((w) => (receiver.seen.size >= w.count ? (w.resolve(), false) : true));
      });
    });
    return receiver;
  }

  reached(count: number, timeoutMs: number): Promise<void> {
    if (this.seen.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver has ${this.seen.size} of ${count} alerts after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** CPU ticks and RSS of processes, from /proc. */
function procStat(pid: number): { cpu: number; rss: number; hwm: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpu: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { cpu: 0, rss: 0, hwm: 0 };
  }
}

/** CPU seconds (from the start) and the peak of the summed RSS of some processes, read through /proc. */
export class Meter {
  private start = new Map<number, number>();
  private last = new Map<number, { cpu: number; hwm: number }>();
  peakRss = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly procs: { name: string; pid: number }[]) {}

  begin() {
    for (const { pid } of this.procs) this.start.set(pid, procStat(pid).cpu);
    this.peakRss = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample() {
    let rss = 0;
    for (const { pid } of this.procs) {
      const s = procStat(pid);
      rss += s.rss;
      if (s.rss) this.last.set(pid, { cpu: s.cpu, hwm: s.hwm });
    }
    this.peakRss = Math.max(this.peakRss, rss);
  }

  end() {
    this.sample();
    clearInterval(this.timer);
    const processes = this.procs.map(({ name, pid }) => ({
      name,
      cpuSeconds: (this.last.get(pid)?.cpu ?? 0) - (this.start.get(pid) ?? 0),
      hwmBytes: this.last.get(pid)?.hwm ?? 0,
    }));
    return { processes, cpuSeconds: processes.reduce((s, p) => s + p.cpuSeconds, 0), peakRssBytes: this.peakRss };
  }
}

async function waitHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms`);
}

/** Resolves once a process has started up: at least 2 s old and then idle (under 5 % of a core) for a second. */
async function settled(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await new Promise((r) => setTimeout(r, 2_000));
  let last = procStat(pid).cpu;
  let quiet = 0;
  while (Date.now() < deadline && quiet < 2) {
    await new Promise((r) => setTimeout(r, 500));
    const now = procStat(pid).cpu;
    quiet = now - last < 0.025 ? quiet + 1 : 0;
    last = now;
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => (clearTimeout(force), r()));
    child.kill(signal);
  });
}

export function alertmanagerInstalled(): boolean {
  return !spawnSync(ALERTMANAGER, ['--version']).error;
}

export async function runAlertmanager(w: Workload): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-versus-am-'));
  const receiver = await Receiver.start((body) => ({
    ids: ((body as { alerts: { labels: { id: string } }[] }).alerts ?? []).map((a) => a.labels.id),
    // Alertmanager sends a group's every alert again each interval: a repeat is not a duplicate.
    repeatable: true,
  }));
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${receiver.url}
        send_resolved: false
`,
  );
  const port = await freePort();
  const child = spawn(
    ALERTMANAGER,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.resume();
  try {
    await waitHttp(`http://127.0.0.1:${port}/-/ready`, 30_000, child);
    const posts = amPosts(w);
    const meter = new Meter([{ name: 'alertmanager', pid: child.pid! }]);
    meter.begin();
    const started = performance.now();
    await postAll(`http://127.0.0.1:${port}/api/v2/alerts`, posts, w.inFlight, {});
    const ingestMs = performance.now() - started;
    await receiver.reached(w.alerts, 300_000);
    const deliveredMs = performance.now() - started;
    return figuresOf(w.alerts, ingestMs, deliveredMs, meter.end(), receiver);
  } finally {
    await stopChild(child);
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The apps each Klaxon process runs: one `klaxon start`, or one process per app and count. */
export type Topology = { app?: 'gateway' | 'pipeline' | 'notifier'; count: number }[];

const QUEUES = ['ingest', 'triage', 'route', 'group', 'feedback', 'exceptions', 'deliver.receiver'];

async function drained(probe: Redis): Promise<boolean> {
  const pipeline = probe.pipeline();
  for (const q of QUEUES) {
    pipeline.llen(`klaxon:bull:${q}:wait`);
    pipeline.llen(`klaxon:bull:${q}:active`);
    pipeline.zcard(`klaxon:bull:${q}:prioritized`);
    // Delayed jobs due within 2 s (the group timers of windows still to flush; not the 1 h repeats).
    pipeline.zcount(`klaxon:bull:${q}:delayed`, 0, (Date.now() + 2_000) * 0x1000);
  }
  return (await pipeline.exec())!.every(([, n]) => n === 0);
}

async function waitDrained(probe: Redis, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    quiet = (await drained(probe)) ? quiet + 1 : 0;
    if (quiet >= 6) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('queues did not drain');
}

const usedMemory = async (probe: Redis) => Number(/^used_memory:(\d+)/m.exec(await probe.info('memory'))![1]);

/** Bytes by key family (ids, digests and numbers replaced), from MEMORY USAGE of every key. */
async function families(probe: Redis): Promise<[string, number, number][]> {
  const totals = new Map<string, [number, number]>();
  let cursor = '0';
  do {
    const [next, keys] = await probe.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipeline = probe.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    const sizes = (await pipeline.exec())!.map(([, n]) => Number(n ?? 0));
    keys.forEach((key, i) => {
      const family = key
        .replace(/evt_[A-Za-z0-9_-]+/g, '<event>')
        .replace(/[0-9a-f]{16,}/g, '<id>')
        .replace(/:\d+(?=:|$)/g, ':<n>')
        .replace(/(deliver|flush|route|triage|ingest|feedback)-[^:]+/g, '$1-<id>')
        // Keys named after a workload, an image or a scope: one family each, not one per name.
        .replace(
          /^(klaxon:(?:graph|\{findings\}):(?:names|workload|ns-workloads|detections|idx:workload|idx:image|idx:repo|idx:digest|scope|scope-last|running|pod)):.*$/,
          '$1:<…>',
        );
      const t = totals.get(family) ?? [0, 0];
      t[0] += sizes[i];
      t[1]++;
      totals.set(family, t);
    });
  } while (cursor !== '0');
  return [...totals.entries()].map(([k, [bytes, count]]) => [k, bytes, count] as [string, number, number]).sort((a, b) => b[1] - a[1]);
}

async function commandstats(probe: Redis): Promise<[string, number, number][]> {
  const info = await probe.info('commandstats');
  return [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)]
    .map((m) => [m[1], Number(m[2]), Number(m[3])] as [string, number, number])
    .sort((a, b) => b[2] - a[2]);
}

function klaxonConfig(hookUrl: string): string {
  return `
sources:
  alertmanager: { token: ${TOKEN} }
server:
  intakeRateLimit: { perMinute: 1000000 }
destinations:
  receiver: { type: webhook, url: "${hookUrl}" }
routes:
  to: [receiver]
  groupBy: [labels.alertname, labels.instance]
  groupWait: 0s
  groupInterval: 1s
  repeatInterval: 1h
`;
}

/**
 * Klaxon as it is deployed (the Dockerfile runs `npm run build`'s JavaScript): compiled into `dist/` once
 * per bench run, so no process carries the TypeScript compiler (KLAXON_BENCH_SOURCES=1 runs the sources).
 */
let built: string | undefined;
function klaxonBin(): string {
  if (process.env.KLAXON_BENCH_SOURCES) return join(ROOT, 'apps/klaxon/bin/klaxon.js');
  if (!built) {
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js')], { cwd: ROOT, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stderr}`);
    built = join(ROOT, 'dist/apps/klaxon/bin/klaxon.js');
  }
  return built;
}

function startKlaxonProcess(dir: string, redisUrl: string, app: string | undefined, port: number, name: string): ChildProcess {
  const prof = process.env.KLAXON_BENCH_CPU_PROF;
  const child = spawn(
    process.execPath,
    [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${name}.cpuprofile`] : []), klaxonBin(), 'start', ...(app ? [app] : [])],
    {
      cwd: dir,
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        KLAXON_API_TOKEN: 'versus-api-token',
        KLAXON_CONFIG: join(dir, 'klaxon.yaml'),
        SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        REDIS_URL: redisUrl,
        PORT: String(port),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk}`));
  return child;
}

/**
 * Klaxon on a private redis-server (no AOF, like Alertmanager without a disk-bound store), as child
 * processes; the figures count every one of them and redis-server. With `measureRedis`, the same
 * alerts are posted again (identical bodies, then refreshed ones with a new `endsAt`) and Redis's
 * growth is measured.
 */
export async function runKlaxon(w: Workload, topology: Topology = [{ count: 1 }], measureRedis = true): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'klaxon-versus-'));
  let redis: EmbeddedRedis | undefined;
  const children: ChildProcess[] = [];
  const receiver = await Receiver.start((body) => {
    const changes = (body as { notification: { changes: { new: { fingerprint: string }[]; regressed: { fingerprint: string }[] } } }).notification.changes;
    return { ids: [...changes.new, ...changes.regressed].map((f) => f.fingerprint), repeatable: false };
  });
  writeFileSync(join(dir, 'klaxon.yaml'), klaxonConfig(receiver.url));
  let probe: Redis | undefined;
  try {
    redis = await startEmbeddedRedis({ dir: join(dir, 'redis'), appendOnly: false });
    probe = new IORedis(redis.url);
    const redisPid = Number(/^process_id:(\d+)/m.exec(await probe.info('server'))![1]);
    const port = await freePort();
    const procs: { name: string; pid: number }[] = [{ name: 'redis-server', pid: redisPid }];
    for (const { app, count } of topology) {
      for (let i = 0; i < count; i++) {
        const name = `klaxon${app ? `-${app}` : ''}${count > 1 ? `-${i + 1}` : ''}`;
        // As `npm start` connects to its embedded Redis: through its unix socket.
        const child = startKlaxonProcess(dir, redis.socket ?? redis.url, app, port, name);
        children.push(child);
        procs.push({ name, pid: child.pid! });
        // One process at a time: start-up compiles the sources, and two at once would slow each other.
        if (!app || app === 'gateway') await waitHttp(`http://127.0.0.1:${port}/healthz`, 120_000, child);
        else await settled(child.pid!, 120_000);
      }
    }
    // Workers of every process are up (a worker connects before its process answers /healthz).
    await new Promise((r) => setTimeout(r, 1_000));
    const base = await usedMemory(probe);
    await probe.config('RESETSTAT');
    if (process.env.KLAXON_VERSUS_SLOWLOG) {
      await probe.config('SET', 'slowlog-log-slower-than', process.env.KLAXON_VERSUS_SLOWLOG);
      await probe.config('SET', 'slowlog-max-len', '200000');
      await probe.slowlog('RESET');
    }
    const url = `http://127.0.0.1:${port}/v1/webhooks/alertmanager`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    const posts = klaxonPosts(w);
    const meter = new Meter(procs);
    meter.begin();
    const started = performance.now();
    await postAll(url, posts, w.inFlight, headers);
    const ingestMs = performance.now() - started;
    await receiver.reached(w.alerts, 600_000);
    const deliveredMs = performance.now() - started;
    const m = meter.end();
    if (process.env.KLAXON_VERSUS_TRACE) {
      const t0 = started;
      const bySecond = new Map<number, number>();
      for (const [at, n] of receiver.trace) bySecond.set(Math.floor((at - t0) / 1000), n);
      console.error(`ingest done at ${Math.round(ingestMs)} ms; delivered by second: ${[...bySecond].map(([s, n]) => `${s}:${n}`).join(' ')}`);
    }
    const figures: Figures = figuresOf(w.alerts, ingestMs, deliveredMs, m, receiver);
    if (process.env.KLAXON_VERSUS_SLOWLOG) {
      const { createHash } = await import('node:crypto');
      const { execSync } = await import('node:child_process');
      const names = new Map<string, string>();
      const files = execSync('git ls-files "*.lua"', { cwd: ROOT }).toString().trim().split('\n');
      const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
      // A script that runs after a prelude (finding-prelude.lua) is sent as the two joined.
      const preludes = files.filter((f) => f.endsWith('-prelude.lua'));
      for (const file of files) {
        const text = readFileSync(join(ROOT, file), 'utf8');
        names.set(sha1(text), file.split('/').pop()!);
        for (const p of preludes) names.set(sha1(readFileSync(join(ROOT, p), 'utf8') + text), file.split('/').pop()!);
      }
      // BullMQ's own scripts, by the names it gives them.
      const bullmqScripts = join(ROOT, 'node_modules/bullmq/dist/cjs/scripts');
      for (const file of readdirSync(bullmqScripts).filter((f) => f.endsWith('.js') && f !== 'index.js')) {
        for (const script of Object.values((await import(join(bullmqScripts, file))) as Record<string, { name?: string; content?: string }>)) {
          if (script?.name && script.content) names.set(sha1(script.content), `bullmq ${script.name}`);
        }
      }
      const entries = (await probe.slowlog('GET', 200000)) as [number, number, number, string[]][];
      const by = new Map<string, [number, number]>();
      for (const [, , usec, args] of entries) {
        const name = args[0].toLowerCase() === 'evalsha' ? (names.get(args[1]) ?? `script ${args[1].slice(0, 8)}`) : args[0].toLowerCase();
        const t = by.get(name) ?? [0, 0];
        t[0] += usec;
        t[1]++;
        by.set(name, t);
      }
      console.error(
        [...by]
          .sort((a, b) => b[1][0] - a[1][0])
          .slice(0, 25)
          .map(([n, [u, c]]) => `${n}: ${(u / 1000).toFixed(0)} ms, ${c} calls`)
          .join('\n'),
      );
    }
    if (measureRedis) {
      await waitDrained(probe);
      const stats = await commandstats(probe);
      const afterFirst = await usedMemory(probe);
      const findings = await probe.zcard('klaxon:{findings}:findings:seen');
      const fams = await families(probe);
      const resend = async (bodies: string[]) => {
        const before = await usedMemory(probe!);
        const notifications = receiver.notifications;
        await postAll(url, bodies, w.inFlight, headers);
        await waitDrained(probe!);
        await new Promise((r) => setTimeout(r, 1_500));
        await waitDrained(probe!);
        const grown = (await usedMemory(probe!)) - before;
        return { grown, percent: (grown / before) * 100, notifications: receiver.notifications - notifications };
      };
      const again = await resend(posts);
      const refreshed = await resend(klaxonPosts(w, '2026-11-25T10:05:00Z'));
      figures.redis = {
        bytesPerFinding: (afterFirst - base) / findings,
        findings,
        usedMemoryBytes: afterFirst,
        resendGrowthBytes: again.grown,
        resendGrowthPercent: again.percent,
        resendNotifications: again.notifications,
        refreshGrowthBytes: refreshed.grown,
        refreshGrowthPercent: refreshed.percent,
        refreshNotifications: refreshed.notifications,
        families: fams,
        commandstats: stats,
      };
    }
    return figures;
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await probe?.quit();
    await receiver.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const perSec = (n: number) => `${(n / 1000).toFixed(1)}k/s`;
