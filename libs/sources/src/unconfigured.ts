/**
 * Why a webhook whose credentials are not configured refuses everyone: a door on the cluster network
 * that anyone can post to would let a forged event page on-call or resolve live incidents.
 */
export function unconfigured(name: string, credentials: string): string {
  return `sources.${name}.${credentials} is not set, so this webhook accepts no one; set it, or allowUnauthenticated: true under sources.${name} to accept anyone`;
}
