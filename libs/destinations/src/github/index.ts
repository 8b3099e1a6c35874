export { GitHubDestination, GATE_CHECK_NAME, type CheckPublication } from './github.destination';
export {
  commentMarker,
  commentSections,
  PULL_REQUEST_MARKER,
  pullRequestsOf,
  renderComment,
  spliceComment,
  renderCheckRun,
  cell as markdownCell,
  GITHUB_COMMENT_MAX,
  CHECK_NAME,
  type CheckRunOutput,
} from './render';
export * from './config';
