export * from './source';
export { YAML_MEDIA_TYPES, isYamlMediaType, yamlToJson } from './common/yaml-document';
export * from './integration';
export * from './registry';
export { HARBOR_REPORT_FOLLOW_UP } from './harbor/parse';
export * from './sources.module';
