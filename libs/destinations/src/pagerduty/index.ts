export { PagerDutyDestination } from './pagerduty.destination';
export { dedupKeyOf, renderTrigger, PD_SEVERITY, PD_SUMMARY_MAX } from './render';
export * from './config';
