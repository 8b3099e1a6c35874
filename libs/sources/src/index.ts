export * from './source';
export { YAML_MEDIA_TYPES, isYamlMediaType, yamlToJson } from './common/yaml-document';
export * from './integration';
export * from './registry';
export * from './identifiers';
export { MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-depth';
export { HARBOR_REPORT_FOLLOW_UP } from './harbor/parse';
export * from './sources.module';
