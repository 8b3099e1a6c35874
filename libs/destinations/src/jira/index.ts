export { JiraDestination } from './jira.destination';
export { findingLabel, groupLabel, DEFAULT_PRIORITIES, escapeWiki, toWiki, toAdf, findingTicket, groupTicket } from './render';
export * from './config';
