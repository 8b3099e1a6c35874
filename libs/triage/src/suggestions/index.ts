export * from './suggestion.repository';
export * from './suggestion-view';
