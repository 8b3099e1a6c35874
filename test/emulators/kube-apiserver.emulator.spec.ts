import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait';
import { DEFAULT_KUBE_TOKEN, KubeApiServerEmulator, type KubeObject } from './kube-apiserver.emulator';

const fixture = (name: string) => JSON.parse(readFileSync(resolve(__dirname, '../fixtures/kubernetes', name), 'utf8')) as KubeObject;
const auth = { authorization: `Bearer ${DEFAULT_KUBE_TOKEN}` };

/** Reads a watch stream line by line into `events` until it ends. */
function follow(url: string) {
  const events: { type: string; object: any }[] = [];
  const controller = new AbortController();
  let ended = false;
  const done = (async () => {
    const res = await fetch(url, { headers: auth, signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) !== -1) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    return res;
  })();
  return { events, done, ended: () => ended, stop: () => controller.abort() };
}

describe('kube-apiserver emulator', () => {
  let api: KubeApiServerEmulator;
  beforeEach(async () => {
    api = await KubeApiServerEmulator.start({ objects: [fixture('namespace-prod-shop.json'), fixture('deployment-checkout.json')] });
  });
  afterEach(async () => api.stop());

  it('lists with a resourceVersion, leaving TypeMeta off built-in items, and pages with limit/continue', async () => {
    const res = await fetch(`${api.url}/apis/apps/v1/deployments`, { headers: auth });
    const list = (await res.json()) as any;
    expect(list).toMatchObject({ kind: 'DeploymentList', metadata: { resourceVersion: String(api.resourceVersion) } });
    expect(list.items[0].metadata).toMatchObject({ name: 'checkout', namespace: 'prod-shop', resourceVersion: expect.any(String), uid: expect.any(String) });
    expect(list.items[0].kind).toBeUndefined();

    api.apply({ ...fixture('deployment-checkout.json'), metadata: { name: 'cart', namespace: 'prod-shop' } });
    const first = (await (await fetch(`${api.url}/apis/apps/v1/namespaces/prod-shop/deployments?limit=1`, { headers: auth })).json()) as any;
    expect(first.items.map((i: any) => i.metadata.name)).toEqual(['cart']);
    expect(first.metadata.remainingItemCount).toBe(1);
    const second = (await (
      await fetch(`${api.url}/apis/apps/v1/namespaces/prod-shop/deployments?limit=1&continue=${first.metadata.continue}`, { headers: auth })
    ).json()) as any;
    expect(second.items.map((i: any) => i.metadata.name)).toEqual(['checkout']);
    expect(second.metadata.continue).toBeUndefined();
  });

  it('streams ADDED, MODIFIED, DELETED and BOOKMARK events after the given resourceVersion', async () => {
    const from = api.resourceVersion;
    const watch = follow(`${api.url}/apis/apps/v1/deployments?watch=1&resourceVersion=${from}`);
    await waitFor(() => api.openWatches('Deployment') === 1, 'the watch');
    const changed = api.apply({ ...fixture('deployment-checkout.json'), spec: { replicas: 5 } });
    api.apply({ ...fixture('deployment-checkout.json'), metadata: { name: 'cart', namespace: 'prod-shop' } });
    api.remove('Deployment', 'prod-shop', 'cart');
    api.bookmark();
    await waitFor(() => watch.events.length === 4, 'four events');
    expect(watch.events.map((e) => e.type)).toEqual(['MODIFIED', 'ADDED', 'DELETED', 'BOOKMARK']);
    expect(watch.events[0].object.metadata.resourceVersion).toBe(changed.metadata.resourceVersion);
    expect(Number(watch.events[2].object.metadata.resourceVersion)).toBeGreaterThan(Number(watch.events[1].object.metadata.resourceVersion));
    watch.stop();
  });

  it('answers a watch from a compacted resourceVersion, or a watch open during compaction, with 410 Gone', async () => {
    const from = api.resourceVersion;
    const open = follow(`${api.url}/apis/apps/v1/deployments?watch=true&resourceVersion=${from}`);
    await waitFor(() => api.openWatches() === 1, 'the watch');
    api.expireWatches();
    await open.done;
    expect(open.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
    expect(open.events[0].object.message).toMatch(/too old resource version/);

    const late = follow(`${api.url}/apis/apps/v1/deployments?watch=true&resourceVersion=${from}`);
    await late.done;
    expect(late.events[0].object.code).toBe(410);
  });

  it('refuses requests without the token', async () => {
    const res = await fetch(`${api.url}/api/v1/namespaces`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).kind).toBe('Status');
    expect((await fetch(`${api.url}/api/v1/secrets`, { headers: auth })).status).toBe(404);
  });
});
