// Runtime detections → build- and deploy-time hardening (docs/architecture.md, "Feedback to build time"). Pure.
export * from './rule-table';
export * from './detect';
export * from './evidence';
export * from './suggestion';
export * from './proposal';
export * from './markdown';
export { toYaml } from './generators/yaml';
