export { renderSlack, escapeMrkdwn, SLACK_LIMITS, type SlackRenderOptions, type SlackRendering } from './render';
export { SlackDestination } from './slack.destination';
export * from './config';
