import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Integration, WebhookRequest } from '../integration';

const PREFIX = 'sha256=';

/**
 * GitHub signs each delivery with the webhook secret: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the
 * raw body, hex>` ("Validating webhook deliveries" in docs.github.com), compared in constant time.
 */
export function verifyGitHubSignature(raw: string, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith(PREFIX)) return false;
  const presented = Buffer.from(header.slice(PREFIX.length), 'hex');
  const expected = createHmac('sha256', secret).update(raw, 'utf8').digest();
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

const header = (request: WebhookRequest, name: string) => request.headers[name] || undefined;

export const githubIntegration: Integration = {
  name: 'github',
  authenticate(request, sources) {
    const secret = sources.github?.secret;
    if (!secret) return 'GitHub webhooks are not accepted until sources.github.secret is set (the webhook secret in GitHub)';
    if (!header(request, 'x-hub-signature-256')) return 'missing X-Hub-Signature-256 (set the webhook secret in GitHub)';
    return verifyGitHubSignature(request.raw, header(request, 'x-hub-signature-256'), secret)
      ? undefined
      : 'X-Hub-Signature-256 does not match the body signed with sources.github.secret';
  },
  format: () => 'github',
  context: (request) => ({ event: header(request, 'x-github-event') }),
  deliveryId: (request) => header(request, 'x-github-delivery'),
};
