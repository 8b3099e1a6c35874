import type { Asset } from '@klaxon/findings';
import type { SourceMeta } from '../source';

export interface BuildFacts {
  repo: string;
  commit: string;
  branch?: string | null;
  pullRequests: number[];
  url?: string;
}

/** A CI build of one commit (a GitHub workflow run or check suite, a GitLab pipeline, a PR or MR head). */
export function buildAsset(facts: BuildFacts, meta: SourceMeta): Asset {
  return {
    type: 'build',
    repo: facts.repo,
    commit: facts.commit,
    branch: facts.branch ?? undefined,
    pullRequests: [...new Set(facts.pullRequests)],
    // Image digests are not in CI webhooks: they come from report context and OCI labels.
    digests: [],
    url: facts.url,
    observedAt: meta.receivedAt,
  };
}
