import { createHash } from 'node:crypto';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Informer, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { InputIntake, JOB, Runtime, collectQueue, kubernetesResyncJobSchema } from '@klaxon/platform';
import { kubernetes } from './client';
import { KubernetesInventoryRepository } from './inventory.repository';
import { WATCHED_RESOURCES, type WatchedResource } from './resources';

export const INTEGRATION = 'collector:kubernetes';
/** A watch that failed (API server down, CRD not installed) is started again after this long. */
const RESTART_DELAY_MS = 5_000;

export function resyncQueue(cluster: string): string {
  return collectQueue(`kubernetes-resync.${cluster}`);
}

/**
 * The Kubernetes part of the collector. Every collector process configured for a cluster runs the
 * informers (list, then watch; a 410 Gone re-lists) and turns each object version it sees into an
 * input event through the same intake as uploads (store raw → check → ingest). Several collectors
 * watching one cluster do not duplicate work: each object version is claimed once by its uid and
 * resourceVersion (EventRepository.claimDelivery, SET NX), so only the first submits it.
 *
 * The periodic full list is a BullMQ job scheduler per cluster (`collect.kubernetes-resync.<cluster>`):
 * BullMQ hands each run to exactly one collector, which lists every kind, submits what changed, and
 * turns objects it remembers but no longer finds (deleted while nobody watched) into deletions.
 */
@Injectable()
export class KubernetesCollector implements OnModuleInit, OnModuleDestroy {
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per object, the submissions in order: an update is stored before the deletion that follows it. */
  private readonly chains = new Map<string, Promise<void>>();
  private kubeConfig?: KubeConfig;
  private stopping = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly intake: InputIntake,
    private readonly inventory: KubernetesInventoryRepository,
  ) {}

  private get settings() {
    return this.runtime.config.sources.kubernetes;
  }

  private get cluster(): string {
    return this.settings?.clusterName ?? 'default';
  }

  async onModuleInit(): Promise<void> {
    const settings = this.settings;
    if (!settings?.enabled) return;
    const kc = new (kubernetes().KubeConfig)();
    // A configured kubeconfig wins; otherwise the pod's service account (in-cluster).
    if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else throw new Error('sources.kubernetes: set kubeconfig, or run Klaxon in a pod (in-cluster service account)');
    this.kubeConfig = kc;

    const queue = resyncQueue(this.cluster);
    this.runtime.queues.work({ queue, schema: kubernetesResyncJobSchema, handle: () => this.resync(), options: { concurrency: 1 } });
    const resyncs = this.runtime.queues.queue(queue);
    await resyncs.upsertJobScheduler(
      `resync-${this.cluster}`,
      { every: settings.resyncInterval },
      { name: JOB.kubernetesResync, data: { cluster: this.cluster } },
    );
    // A collector that (re)starts asks for one resync now: what was deleted while it was down is only
    // found by comparing a full list with what was last sent. Two starting together cost two lists, no
    // duplicate events (object versions are claimed).
    await resyncs.add(JOB.kubernetesResync, { cluster: this.cluster });

    await Promise.all(WATCHED_RESOURCES.map((resource) => this.watch(kc, resource)));
    this.runtime.logger.info({ cluster: this.cluster, kinds: WATCHED_RESOURCES.length }, 'kubernetes collector watching');
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all(this.informers.map((i) => i.stop()));
    await Promise.all(this.chains.values());
  }

  private async watch(kc: KubeConfig, resource: WatchedResource): Promise<void> {
    const informer = kubernetes().makeInformer(kc, resource.path, () => resource.list(kc));
    informer.on('add', (obj) => this.observe(resource, obj, false));
    informer.on('update', (obj) => this.observe(resource, obj, false));
    informer.on('delete', (obj) => this.observe(resource, obj, true));
    informer.on('error', (err) => {
      if (this.stopping) return;
      this.runtime.logger.warn({ cluster: this.cluster, kind: resource.kind, err: (err as Error)?.message }, 'kubernetes watch failed; restarting');
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopping) void informer.start();
      }, RESTART_DELAY_MS);
      this.timers.add(timer);
    });
    this.informers.push(informer);
    await informer.start();
  }

  private wanted(resource: WatchedResource, obj: KubernetesObject): boolean {
    const namespaces = this.settings?.namespaces;
    if (!namespaces?.length) return true;
    if (resource.kind === 'Namespace') return namespaces.includes(obj.metadata?.name ?? '');
    return !resource.namespaced || namespaces.includes(obj.metadata?.namespace ?? '');
  }

  /** Queues one object version for submission, after the previous one of the same object. */
  private observe(resource: WatchedResource, obj: KubernetesObject, deleted: boolean): Promise<void> {
    if (this.stopping || !this.wanted(resource, obj)) return Promise.resolve();
    const doc = { ...obj, apiVersion: obj.apiVersion ?? resource.apiVersion, kind: obj.kind ?? resource.kind };
    const key = objectKey(resource, doc);
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.submit(resource, doc, key, deleted))
      .catch((err: Error) => this.runtime.logger.error({ cluster: this.cluster, object: key, err: err.message }, 'kubernetes object not submitted'));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async submit(resource: WatchedResource, doc: KubernetesObject, key: string, deleted: boolean): Promise<void> {
    const version = doc.metadata?.resourceVersion ?? '';
    const deliveryId = `${this.cluster}/${doc.metadata?.uid ?? key}/${version}${deleted ? '/deleted' : ''}`;
    const eventId = `evt_k8s_${createEventSuffix(deliveryId)}`;
    if (await this.runtime.events.claimDelivery(INTEGRATION, deliveryId, eventId)) return;
    const json = JSON.stringify(doc);
    const outcome = await this.intake.accept(
      {
        integration: INTEGRATION,
        format: resource.format,
        context: { cluster: this.cluster, resource: key, resourceVersion: version, ...(deleted ? { deleted: true } : {}) },
        raw: deleted ? JSON.stringify({ type: 'DELETED', object: doc }) : json,
        contentType: 'application/json',
      },
      eventId,
    );
    if (outcome.status === 'quarantined') {
      this.runtime.logger.warn({ cluster: this.cluster, object: key, eventId, err: outcome.error.message }, 'kubernetes object quarantined');
    }
    if (deleted) await this.inventory.forget(this.cluster, key);
    else await this.inventory.remember(this.cluster, key, json);
  }

  /** One full list of the cluster (run by whichever collector BullMQ gives the scheduled job). */
  async resync(): Promise<{ listed: number; gone: number }> {
    const kc = this.kubeConfig;
    if (!kc) return { listed: 0, gone: 0 };
    let listed = 0;
    let gone = 0;
    for (const resource of WATCHED_RESOURCES) {
      let items: KubernetesObject[];
      try {
        items = (await resource.list(kc)).items;
      } catch (err) {
        this.runtime.logger.warn({ cluster: this.cluster, kind: resource.kind, err: (err as Error).message }, 'kubernetes resync cannot list');
        continue;
      }
      const wanted = items.filter((obj) => this.wanted(resource, obj));
      const present = new Set(wanted.map((obj) => objectKey(resource, obj)));
      await Promise.all(wanted.map((obj) => this.observe(resource, obj, false)));
      const missing = await this.inventory.missing(this.cluster, resource.kind, present);
      await Promise.all(missing.map(({ json }) => this.observe(resource, JSON.parse(json) as KubernetesObject, true)));
      listed += wanted.length;
      gone += missing.length;
    }
    this.runtime.logger.info({ cluster: this.cluster, listed, gone }, 'kubernetes resync done');
    return { listed, gone };
  }
}

function objectKey(resource: WatchedResource, obj: KubernetesObject): string {
  return `${resource.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** A short stable id from the delivery id, so the same object version is the same event everywhere. */
function createEventSuffix(deliveryId: string): string {
  return createHash('sha256').update(deliveryId).digest('hex').slice(0, 24);
}
