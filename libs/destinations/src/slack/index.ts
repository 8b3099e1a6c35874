export { renderSlack, escapeMrkdwn, isAllResolved, SLACK_LIMITS, type SlackRenderOptions, type SlackRendering } from './render';
export { SlackDestination } from './slack.destination';
