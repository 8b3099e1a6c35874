import { isObject } from '../common/document';
import { ParseError, type SourceMeta } from '../source';

/**
 * Shared reading of Kubernetes documents for the cluster sources (policy reports, Trivy Operator
 * reports, workloads): the cluster they came from, watch events, lists, and one way to name a resource.
 */

/** The cluster name the collector attaches to its events, else the configured one (`sources.kubernetes.clusterName`). */
export function clusterOf(meta: SourceMeta): string | undefined {
  const cluster = (meta.context as Record<string, unknown>).cluster;
  return typeof cluster === 'string' && cluster !== '' ? cluster : meta.cluster || undefined;
}

/** One object of a document, and whether the API server said it is gone. */
export interface KubernetesItem {
  object: unknown;
  deleted: boolean;
  /** Where the object sits in the raw document, for error paths (`items[3]`, `object`). */
  path: string;
}

/**
 * A document as `kubectl get -o json` or the watch API gives it: one object, a `List` of items
 * (`kind: List` or `<Kind>List`), or a watch event `{type: ADDED|MODIFIED|DELETED, object}`
 * (metav1.WatchEvent), which is how the collector hands over a deletion.
 */
export function itemsOf(document: unknown): KubernetesItem[] {
  if (!isObject(document)) throw new ParseError('a Kubernetes document is a JSON object');
  if (typeof document.type === 'string' && 'object' in document && !('kind' in document)) {
    if (!['ADDED', 'MODIFIED', 'DELETED'].includes(document.type)) {
      throw new ParseError(`unknown watch event type "${document.type}"; one of ADDED, MODIFIED, DELETED`, 'type');
    }
    return [{ object: document.object, deleted: document.type === 'DELETED', path: 'object' }];
  }
  if (typeof document.kind === 'string' && document.kind.endsWith('List')) {
    if (!Array.isArray(document.items)) throw new ParseError('expected an array', 'items');
    return document.items.map((object, i) => ({ object, deleted: false, path: `items[${i}]` }));
  }
  return [{ object: document, deleted: false, path: '' }];
}

/** `apiVersion` and `kind` of an object, when it has them. */
export function typeOf(object: unknown): { apiVersion?: string; kind?: string } {
  if (!isObject(object)) return {};
  return {
    apiVersion: typeof object.apiVersion === 'string' ? object.apiVersion : undefined,
    kind: typeof object.kind === 'string' ? object.kind : undefined,
  };
}

export interface ResourceRef {
  cluster?: string;
  namespace?: string;
  kind: string;
  name: string;
}

/** `<cluster>/<namespace>/<kind>/<name>`, empty parts kept so keys never collide. */
export function resourcePath(ref: ResourceRef): string {
  return [ref.cluster ?? '', ref.namespace ?? '', ref.kind, ref.name].join('/');
}

/** Kept here for the cluster sources; the naming convention itself lives with the model. */
export { deploymentOfPod } from '@klaxon/findings';
