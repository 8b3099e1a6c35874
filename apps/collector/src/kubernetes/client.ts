import type * as Kubernetes from '@kubernetes/client-node';

let loaded: typeof Kubernetes | undefined;

/**
 * The Kubernetes client, loaded when a collector first talks to a cluster: it is about 65 MiB of a
 * process's memory, and a process without `sources.kubernetes` (every gateway, pipeline and notifier,
 * and `npm start` off-cluster) never needs it.
 */
export function kubernetes(): typeof Kubernetes {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, as said above
  loaded ??= require('@kubernetes/client-node') as typeof Kubernetes;
  return loaded;
}
