import type { Integration } from '../integration';
import { sameSecret } from '../same-secret';

/**
 * Harbor sends the policy's "Auth Header" value verbatim as `Authorization`
 * (src/pkg/notifier/handler/notification/http_handler.go). Checked when `sources.harbor.webhookAuth`
 * is set; without it any sender is accepted, as Harbor's own default is no auth header.
 */
export const harborIntegration: Integration = {
  name: 'harbor',
  authenticate({ headers }, sources) {
    const expected = sources.harbor?.webhookAuth;
    if (!expected) return undefined;
    if (!headers.authorization) return 'missing Authorization header (Harbor sends the webhook policy\'s auth header; it must equal sources.harbor.webhookAuth)';
    return sameSecret(headers.authorization, expected) ? undefined : 'Authorization does not match sources.harbor.webhookAuth';
  },
  format: () => 'harbor',
};
