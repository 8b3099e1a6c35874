/**
 * Injection tokens for what PlatformModule provides that is not a class of its own: the one Redis
 * connection, the key prefix everything is stored under, and the validated config. Libraries build
 * their repositories from REDIS and KEY_PREFIX in their modules' factory providers.
 */
export const REDIS = Symbol('klaxon:redis');
export const KEY_PREFIX = Symbol('klaxon:key-prefix');
export const CONFIG = Symbol('klaxon:config');
/** The exceptions of the exceptions file (`ExceptionConfig[]`); those made over the API live in Redis. */
export const CONFIGURED_EXCEPTIONS = Symbol('klaxon:configured-exceptions');
