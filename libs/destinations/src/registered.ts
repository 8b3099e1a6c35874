/**
 * Every destination type Klaxon sends to, one line each: adding a destination is its folder (sender,
 * renderer, config schema, default limits, `descriptor.ts`) plus one line here. Nothing else lists them.
 */
export { github } from './github/descriptor';
export { jira } from './jira/descriptor';
export { pagerduty } from './pagerduty/descriptor';
export { slack } from './slack/descriptor';
export { webhook } from './webhook/descriptor';
