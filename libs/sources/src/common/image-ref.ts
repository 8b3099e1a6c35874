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

const REGISTRY_HOST = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)(:\d+)?$/i;

/**
 * The image a scanner's location names, when it names one: Trivy's SARIF locates an image's OS package
 * vulnerabilities at the image (`harbor.example.com/shop/checkout`), not at a file. Only a reference with
 * a registry host and no file extension is read so: `app/package-lock.json` stays a path.
 */
export function imageAt(location: string): ImageRef | undefined {
  const ref = parseImageRef(location);
  if (!ref.registry || !REGISTRY_HOST.test(ref.registry) || !ref.repository) return undefined;
  const last = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  return /\.[a-z0-9]+$/i.test(last) || /\s/.test(location) ? undefined : ref;
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
