import type { Integration } from '../integration';
import { sameSecret } from '../same-secret';

/**
 * GitLab sends the hook's secret token as `X-Gitlab-Token` (no signature). `Idempotency-Key` stays the
 * same across retries of one event (GitLab 17.4+); older versions send `X-Gitlab-Event-UUID`.
 */
export const gitlabIntegration: Integration = {
  name: 'gitlab',
  authenticate({ headers }, sources) {
    const token = sources.gitlab?.token;
    if (!token) return "GitLab webhooks are not accepted until sources.gitlab.token is set (the hook's secret token in GitLab)";
    if (!headers['x-gitlab-token']) return 'missing X-Gitlab-Token (set the secret token of the hook in GitLab)';
    return sameSecret(headers['x-gitlab-token'], token) ? undefined : 'X-Gitlab-Token does not match sources.gitlab.token';
  },
  format: () => 'gitlab',
  context: ({ headers }) => ({ event: headers['x-gitlab-event'] || undefined }),
  deliveryId: ({ headers }) => headers['idempotency-key'] || headers['x-gitlab-event-uuid'] || undefined,
};
