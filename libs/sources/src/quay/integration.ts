import type { Integration } from '../integration';
import { sameSecret } from '../same-secret';
import { unconfigured } from '../unconfigured';

/**
 * Quay's webhook method sends no secret of its own (only the configured URL), so the token travels in
 * the URL (`/v1/webhooks/quay?token=…`), or as `Authorization: Bearer …` from a proxy in between.
 * Without `sources.quay.token` nobody is let in, unless `allowUnauthenticated: true`.
 */
export const quayIntegration: Integration = {
  name: 'quay',
  authenticate({ headers, query }, sources) {
    const expected = sources.quay?.token;
    if (!expected) return sources.quay?.allowUnauthenticated ? undefined : unconfigured('quay', 'token');
    const bearer = headers.authorization?.startsWith('Bearer ') ? headers.authorization.slice('Bearer '.length) : undefined;
    const presented = query?.token || bearer;
    if (!presented) return 'missing token: add ?token=<sources.quay.token> to the webhook URL in Quay';
    return sameSecret(presented, expected) ? undefined : 'token does not match sources.quay.token';
  },
  format: () => 'quay',
};
