import { defineDestination } from '../destination';
import { githubDestinationSchema, GITHUB_DELIVERY_LIMITS } from './config';
import { GitHubDestination } from './github.destination';

export const github = defineDestination({
  type: 'github',
  configSchema: githubDestinationSchema,
  defaultLimits: GITHUB_DELIVERY_LIMITS,
  // The sticky PR comment lists every open finding of the pull request.
  listsEveryOpenFinding: true,
  create: (config) => new GitHubDestination(config),
});
