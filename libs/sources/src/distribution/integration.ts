import type { Integration } from '../integration';
import { sameSecret } from '../same-secret';
import { unconfigured } from '../unconfigured';

/**
 * A registry's notification endpoint carries the headers configured for it (`notifications.endpoints[].headers`
 * in the registry's config.yml), so `Authorization: Bearer <sources.registry.token>` authenticates it.
 * Without a token nobody is let in, unless `allowUnauthenticated: true`.
 */
export const registryIntegration: Integration = {
  name: 'registry',
  authenticate({ headers }, sources) {
    const expected = sources.registry?.token;
    if (!expected) return sources.registry?.allowUnauthenticated ? undefined : unconfigured('registry', 'token');
    const presented = headers.authorization?.startsWith('Bearer ') ? headers.authorization.slice('Bearer '.length) : undefined;
    if (!presented) return "missing Authorization: Bearer <sources.registry.token> (set it in the registry's notification endpoint headers)";
    return sameSecret(presented, expected) ? undefined : 'bearer token does not match sources.registry.token';
  },
  format: () => 'registry',
};
