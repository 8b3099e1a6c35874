/**
 * Image references and repository names as the registry, CI and runtime sources write them, read one way
 * so that every source names the same image and the same repo alike.
 */

/** OCI annotation keys (opencontainers/image-spec annotations.md) that name an image's source repo and commit. */
export const OCI_SOURCE = 'org.opencontainers.image.source';
export const OCI_REVISION = 'org.opencontainers.image.revision';

export interface ImageRef {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Splits `[registry/]repository[:tag][@digest]`. As in Docker's reference grammar, the first path
 * segment is a registry host only when it contains '.' or ':' or is 'localhost'; otherwise the name
 * is kept as written (`alpine` stays `alpine`, `library/alpine` stays `library/alpine`).
 */
export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const digest = at === -1 ? undefined : ref.slice(at + 1);
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const path = hasRegistry ? name.slice(slash + 1) : name;
  const colon = path.lastIndexOf(':');
  return {
    registry: hasRegistry ? first : undefined,
    repository: colon === -1 ? path : path.slice(0, colon),
    tag: colon === -1 ? undefined : path.slice(colon + 1),
    digest,
  };
}

/**
 * `https://github.com/acme/checkout(.git)` and `git@github.com:acme/checkout.git` → `acme/checkout`,
 * the form CI context and GitHub events use, so that OCI labels and uploads name the same repo.
 */
export function repoName(value: string): string {
  const scp = /^[\w.-]+@[\w.-]+:(.+)$/.exec(value);
  let path = scp ? scp[1] : value;
  if (!scp && /^[a-z+]+:\/\//i.test(value)) {
    try {
      path = new URL(value).pathname;
    } catch {
      return value;
    }
  }
  return path.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
}
