export { GitHubDestination } from './github.destination';
export { commentMarker, pullRequestsOf, renderComment, renderCheckRun, GITHUB_COMMENT_MAX, CHECK_NAME } from './render';
