import type { Integration } from '../integration';
import { checkBearer } from '../falco/integration';
import { sameSecret } from '../same-secret';
import { unconfigured } from '../unconfigured';

/**
 * The ACS generic webhook authenticates with HTTP basic auth (its "Username"/"Password" fields) or a
 * header of ours (`Authorization: Bearer <sources.stackrox.token>`). Both halves of a basic credential
 * are compared in constant time, and both always, so a wrong user takes as long as a wrong password.
 */
export const stackroxIntegration: Integration = {
  name: 'stackrox',
  authenticate(request, sources) {
    const source = sources.stackrox;
    if (source?.username && source.password) {
      const header = (request.headers.authorization ?? '').trim();
      const basic = /^Basic\s+(\S+)$/i.exec(header);
      if (!basic) return source.token ? checkBearer('stackrox', source.token, request) : 'expected basic auth with sources.stackrox.username and password';
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      const userMatches = sameSecret(user, source.username);
      const passwordMatches = sameSecret(password, source.password);
      return userMatches && passwordMatches ? undefined : 'basic auth does not match sources.stackrox.username and password';
    }
    if (source?.token) return checkBearer('stackrox', source.token, request);
    return source?.allowUnauthenticated ? undefined : unconfigured('stackrox', 'token (or username and password)');
  },
  format: () => 'stackrox',
};
