import type { Integration, SourcesConfig, WebhookRequest } from '../integration';
import { sameSecret } from '../same-secret';

type TokenSource = 'falco' | 'falcosidekick' | 'tetragon' | 'stackrox' | 'alertmanager';

/**
 * A sender that proves itself with `Authorization: Bearer <sources.<name>.token>` when that token is
 * configured (falcosidekick `webhook.customheaders`, Alertmanager `http_config.authorization`, an ACS
 * generic webhook header, the shipper in front of Tetragon's export). Without a token, anyone may post.
 * Shared by the runtime senders, which all authenticate this way.
 */
export function bearerTokenIntegration(name: TokenSource, format: string): Integration {
  return {
    name,
    authenticate(request: WebhookRequest, sources: SourcesConfig): string | undefined {
      const token = sources[name]?.token;
      if (!token) return undefined;
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      if (!match) return `expected Authorization: Bearer <sources.${name}.token>`;
      return sameSecret(match[1], token) ? undefined : 'the bearer token does not match';
    },
    format: () => format,
  };
}

export const falcoIntegration = bearerTokenIntegration('falco', 'falco');
/** falcosidekick's webhook output posts the Falco payload as Falco wrote it (plus `uuid`). */
export const falcosidekickIntegration = bearerTokenIntegration('falcosidekick', 'falco');
