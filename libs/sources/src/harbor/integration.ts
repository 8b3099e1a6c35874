import type { Integration } from '../integration';
import { sameSecret } from '../same-secret';
import { unconfigured } from '../unconfigured';

/**
 * Harbor sends the policy's "Auth Header" value verbatim as `Authorization`
 * (src/pkg/notifier/handler/notification/http_handler.go). Harbor's own default is no auth header, but
 * without `sources.harbor.webhookAuth` nobody is let in, unless `allowUnauthenticated: true`.
 */
export const harborIntegration: Integration = {
  name: 'harbor',
  authenticate({ headers }, sources) {
    const expected = sources.harbor?.webhookAuth;
    if (!expected) return sources.harbor?.allowUnauthenticated ? undefined : unconfigured('harbor', 'webhookAuth');
    if (!headers.authorization) return "missing Authorization header (Harbor sends the webhook policy's auth header; it must equal sources.harbor.webhookAuth)";
    return sameSecret(headers.authorization, expected) ? undefined : 'Authorization does not match sources.harbor.webhookAuth';
  },
  format: () => 'harbor',
  // A CloudEvent's id is set once when Harbor formats the event; its webhook job retries send the same
  // payload, so the id recognises a redelivery. The Default format carries no id.
  deliveryId({ raw }) {
    try {
      const doc = JSON.parse(raw) as { specversion?: unknown; id?: unknown };
      return typeof doc.specversion === 'string' && typeof doc.id === 'string' && doc.id ? doc.id : undefined;
    } catch {
      return undefined;
    }
  },
};
