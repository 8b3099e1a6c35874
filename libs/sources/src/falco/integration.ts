import type { Integration, SourcesConfig, WebhookRequest } from '../integration';
import { sameSecret } from '../same-secret';
import { unconfigured } from '../unconfigured';

type TokenSource = 'falco' | 'falcosidekick' | 'tetragon' | 'alertmanager';

const bearerOf = (request: WebhookRequest) => /^Bearer\s+(.+)$/i.exec((request.headers.authorization ?? '').trim())?.[1];

/**
 * A sender that proves itself with `Authorization: Bearer <sources.<name>.token>` (falcosidekick
 * `webhook.customheaders`, Alertmanager `http_config.authorization`, the shipper in front of Tetragon's
 * export). Without a token nobody is let in, unless the source says `allowUnauthenticated: true`.
 * Shared by the runtime senders, which all authenticate this way.
 */
export function checkBearer(name: string, token: string, request: WebhookRequest): string | undefined {
  const presented = bearerOf(request);
  if (!presented) return `expected Authorization: Bearer <sources.${name}.token>`;
  return sameSecret(presented, token) ? undefined : 'the bearer token does not match';
}

export function bearerTokenIntegration(name: TokenSource, format: string): Integration {
  return {
    name,
    authenticate(request: WebhookRequest, sources: SourcesConfig): string | undefined {
      const source = sources[name];
      if (source?.token) return checkBearer(name, source.token, request);
      return source?.allowUnauthenticated ? undefined : unconfigured(name, 'token');
    },
    format: () => format,
  };
}

export const falcoIntegration = bearerTokenIntegration('falco', 'falco');
/** falcosidekick's webhook output posts the Falco payload as Falco wrote it (plus `uuid`). */
export const falcosidekickIntegration = bearerTokenIntegration('falcosidekick', 'falco');
