export { GitHubDestination, GATE_CHECK_NAME, type CheckPublication } from './github.destination';
export { commentMarker, pullRequestsOf, renderComment, renderCheckRun, cell as markdownCell, GITHUB_COMMENT_MAX, CHECK_NAME, type CheckRunOutput } from './render';
