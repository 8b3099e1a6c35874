export * from './exception';
export * from './exception.repository';
export * from './exception.store';
export * from './exception-timer';
