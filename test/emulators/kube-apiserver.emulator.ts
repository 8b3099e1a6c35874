import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

/**
 * A Kubernetes API server double for the list and watch contract the informers of
 * @kubernetes/client-node rely on (https://kubernetes.io/docs/reference/using-api/api-concepts/):
 * - `GET <collection>` lists with `metadata.resourceVersion`, `limit` and `continue` (chunked lists);
 *   items of built-in kinds carry no apiVersion/kind, as the real server's typed lists do;
 * - `GET <collection>?watch=1|true&resourceVersion=N` streams newline-delimited JSON events
 *   (ADDED, MODIFIED, DELETED, BOOKMARK) with chunked transfer encoding and keeps the stream open;
 * - a resourceVersion older than the last compaction gets an `ERROR` event with a 410 Status
 *   ("too old resource version"), which makes a client re-list;
 * - a bearer token is required; 401 otherwise.
 * Objects are changed by the test through `apply`/`remove`, which assign resourceVersions and uids.
 */

interface ResourceType {
  apiVersion: string;
  kind: string;
  /** Collection path across namespaces. */
  path: string;
  namespaced: boolean;
  /** Built-in kinds: list items come without apiVersion/kind. */
  builtIn: boolean;
}

const TYPES: ResourceType[] = [
  { apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces', namespaced: false, builtIn: true },
  { apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods', namespaced: true, builtIn: true },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services', namespaced: true, builtIn: true },
  { apiVersion: 'v1', kind: 'ConfigMap', path: '/api/v1/configmaps', namespaced: true, builtIn: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments', namespaced: true, builtIn: true },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets', namespaced: true, builtIn: true },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', path: '/apis/apps/v1/daemonsets', namespaced: true, builtIn: true },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', path: '/apis/networking.k8s.io/v1/ingresses', namespaced: true, builtIn: true },
  { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', path: '/apis/wgpolicyk8s.io/v1alpha2/policyreports', namespaced: true, builtIn: false },
  {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'ClusterPolicyReport',
    path: '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports',
    namespaced: false,
    builtIn: false,
  },
  {
    apiVersion: 'aquasecurity.github.io/v1alpha1',
    kind: 'VulnerabilityReport',
    path: '/apis/aquasecurity.github.io/v1alpha1/vulnerabilityreports',
    namespaced: true,
    builtIn: false,
  },
  {
    apiVersion: 'aquasecurity.github.io/v1alpha1',
    kind: 'ConfigAuditReport',
    path: '/apis/aquasecurity.github.io/v1alpha1/configauditreports',
    namespaced: true,
    builtIn: false,
  },
  {
    apiVersion: 'aquasecurity.github.io/v1alpha1',
    kind: 'ClusterComplianceReport',
    path: '/apis/aquasecurity.github.io/v1alpha1/clustercompliancereports',
    namespaced: false,
    builtIn: false,
  },
];

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  rv: number;
  type: EventType;
  kind: string;
  object: KubeObject;
}

interface Watcher {
  type: ResourceType;
  namespace?: string;
  /** The resourceVersion the watch started from. */
  from: string;
  res: ServerResponse;
}

export interface KubeRequest {
  method: string;
  path: string;
  watch: boolean;
  query: Record<string, string>;
}

export const DEFAULT_KUBE_TOKEN = 'klaxon-test-kube-token';

export class KubeApiServerEmulator {
  /** Every request, in order: tests count lists to see a re-list happen. */
  readonly requests: KubeRequest[] = [];
  private rv = 1000;
  /** Watches resuming from before this resourceVersion are too old (etcd compaction). */
  private compactedAt = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  /** Requests waiting while the server is held (a partition the test controls). */
  private held?: (() => void)[];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly token: string,
  ) {}

  static async start(options: { token?: string; objects?: KubeObject[] } = {}): Promise<KubeApiServerEmulator> {
    // eslint-disable-next-line prefer-const -- assigned once the server it handles for is listening
    let emulator: KubeApiServerEmulator | undefined;
    const server = createServer((req, res) => emulator!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    emulator = new KubeApiServerEmulator(server, `http://127.0.0.1:${port}`, options.token ?? DEFAULT_KUBE_TOKEN);
    for (const object of options.objects ?? []) emulator.apply(object);
    return emulator;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Creates or replaces an object; watchers see ADDED or MODIFIED. */
  apply(input: KubeObject): KubeObject {
    const type = this.typeOf(input.kind);
    const store = this.store(type.kind);
    const key = objectKey(input);
    const existing = store.get(key);
    const object: KubeObject = structuredClone(input);
    object.metadata.uid = existing?.metadata.uid ?? object.metadata.uid ?? randomUUID();
    object.metadata.resourceVersion = String(++this.rv);
    store.set(key, object);
    this.record({ rv: this.rv, type: existing ? 'MODIFIED' : 'ADDED', kind: type.kind, object });
    return object;
  }

  /** Deletes an object; watchers see DELETED with the object at its deletion resourceVersion. */
  remove(kind: string, namespace: string | undefined, name: string): void {
    const store = this.store(kind);
    const key = `${namespace ?? ''}/${name}`;
    const existing = store.get(key);
    if (!existing) throw new Error(`no ${kind} ${key}`);
    store.delete(key);
    const object = { ...structuredClone(existing), metadata: { ...existing.metadata, resourceVersion: String(++this.rv) } };
    this.record({ rv: this.rv, type: 'DELETED', kind, object });
  }

  /** Forgets the change history, as etcd compaction does: watches resuming from before now get 410 Gone. */
  compact(): void {
    this.compactedAt = this.rv + 1;
    this.history = [];
  }

  /**
   * Ends every open watch with the ERROR event a real server sends when the watch's resourceVersion
   * was compacted away (410 "too old resource version"); clients must re-list.
   */
  expireWatches(): void {
    this.compact();
    for (const watcher of this.watchers) {
      watcher.res.end(`${JSON.stringify(goneEvent(watcher.from, this.compactedAt))}\n`);
    }
    this.watchers.clear();
  }

  /** Sends a BOOKMARK (the current resourceVersion, no object change) to every open watch. */
  bookmark(): void {
    for (const watcher of this.watchers) {
      const object = { kind: watcher.type.kind, apiVersion: watcher.type.apiVersion, metadata: { resourceVersion: String(this.rv) } };
      watcher.res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
    }
  }

  /** Answers no request until `release()`: the test changes objects while no client can see them. */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const answer of waiting) answer();
  }

  openWatches(kind?: string): number {
    return [...this.watchers].filter((w) => !kind || w.type.kind === kind).length;
  }

  lists(path: string): number {
    return this.requests.filter((r) => !r.watch && r.path === path).length;
  }

  /** A kubeconfig for this server in a fresh temp dir (token auth, plain http). */
  writeKubeconfig(dir = mkdtempSync(join(tmpdir(), 'klaxon-kube-'))): string {
    const file = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: emulated',
        '  cluster:',
        `    server: ${this.url}`,
        // client-node 1.x speaks plain http only to a cluster marked so.
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: klaxon',
        '  user:',
        `    token: ${this.token}`,
        'contexts:',
        '- name: emulated',
        '  context:',
        '    cluster: emulated',
        '    user: klaxon',
        'current-context: emulated',
        '',
      ].join('\n'),
    );
    return file;
  }

  async stop(): Promise<void> {
    for (const watcher of this.watchers) watcher.res.end();
    this.watchers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private typeOf(kind: string): ResourceType {
    const type = TYPES.find((t) => t.kind === kind);
    if (!type) throw new Error(`the emulator does not serve ${kind}`);
    return type;
  }

  private store(kind: string): Map<string, KubeObject> {
    let store = this.objects.get(kind);
    if (!store) this.objects.set(kind, (store = new Map()));
    return store;
  }

  private record(change: Change): void {
    this.history.push(change);
    const type = this.typeOf(change.kind);
    for (const watcher of this.watchers) {
      if (watcher.type !== type) continue;
      if (watcher.namespace && watcher.namespace !== change.object.metadata.namespace) continue;
      watcher.res.write(`${JSON.stringify({ type: change.type, object: change.object })}\n`);
    }
  }

  /** Finds the resource type and namespace of a collection path (`/api/v1/namespaces/ns/pods` or `/api/v1/pods`). */
  private route(path: string): { type: ResourceType; namespace?: string } | undefined {
    const exact = TYPES.find((t) => t.path === path);
    if (exact) return { type: exact };
    const match = /^(\/apis?\/(?:[^/]+\/)?v[^/]+)\/namespaces\/([^/]+)\/([^/]+)$/.exec(path);
    if (!match) return undefined;
    const type = TYPES.find((t) => t.namespaced && t.path === `${match[1]}/${match[3]}`);
    return type ? { type, namespace: match[2] } : undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.held) {
      this.held.push(() => this.handle(req, res));
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true' || query.watch === '1';
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, watch, query });
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', 'the emulator serves list and watch only');
    const route = this.route(url.pathname);
    if (!route) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (watch) return this.watch(route.type, route.namespace, query.resourceVersion ?? '', res);
    return this.list(route.type, route.namespace, query, res);
  }

  private items(type: ResourceType, namespace?: string): KubeObject[] {
    return [...this.store(type.kind).values()]
      .filter((o) => !namespace || o.metadata.namespace === namespace)
      .sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
  }

  private list(type: ResourceType, namespace: string | undefined, query: Record<string, string>, res: ServerResponse): void {
    let offset = 0;
    let rv = this.rv;
    if (query.continue) {
      const token = JSON.parse(Buffer.from(query.continue, 'base64').toString()) as { offset: number; rv: number };
      if (token.rv < this.compactedAt) return status(res, 410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      offset = token.offset;
      rv = token.rv;
    }
    const all = this.items(type, namespace);
    const limit = query.limit ? Number(query.limit) : all.length;
    const page = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    const body = {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: {
        resourceVersion: String(rv),
        ...(more
          ? { continue: Buffer.from(JSON.stringify({ offset: offset + limit, rv })).toString('base64'), remainingItemCount: all.length - offset - limit }
          : {}),
      },
      items: page.map((o) => (type.builtIn ? withoutTypeMeta(o) : o)),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private watch(type: ResourceType, namespace: string | undefined, from: string, res: ServerResponse): void {
    // No content-length: Node sends the stream with chunked transfer encoding, as the API server does.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const start = Number(from || 0);
    if (from && from !== '0' && start < this.compactedAt) {
      res.end(`${JSON.stringify(goneEvent(from, this.compactedAt))}\n`);
      return;
    }
    if (!from || from === '0') {
      // "Any" version: the current state as synthetic ADDED events, then changes.
      for (const object of this.items(type, namespace)) res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    } else {
      for (const change of this.history) {
        if (change.rv <= start || change.kind !== type.kind) continue;
        if (namespace && change.object.metadata.namespace !== namespace) continue;
        res.write(`${JSON.stringify({ type: change.type, object: change.object })}\n`);
      }
    }
    const watcher: Watcher = { type, namespace, from, res };
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }
}

function objectKey(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function withoutTypeMeta(o: KubeObject): Omit<KubeObject, 'apiVersion' | 'kind'> {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

function goneEvent(from: string, compactedAt: number) {
  return {
    type: 'ERROR',
    object: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${from} (${compactedAt})`,
      reason: 'Expired',
      code: 410,
    },
  };
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res
    .writeHead(code, { 'content-type': 'application/json' })
    .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}
