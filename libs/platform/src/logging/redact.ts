/** `scheme://user:pass@host`: the userinfo of any URL. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
/** `?token=…`, `&api_key=…`, `&X-Amz-Signature=…`: query values whose name says they are secret. */
const SECRET_PARAM = /([?&;][^=&;#\s]*(?:token|key|secret|password|passwd|pwd|sig|signature|auth|credential|session|code)[^=&;#\s]*=)[^&;#\s"'<>]*/gi;

/**
 * An error text fit to be stored or logged: URL credentials and secret query values replaced by `***`.
 * An HTTP client's error quotes the URL it called (`request to https://user:pass@siem/hook failed`),
 * and dead letters and job failures are read by more people than the config.
 */
export function redactUrls(text: string): string {
  return text.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}

/** The same error with its message and stack redacted (BullMQ stores both with the job). */
export function redactError<T>(err: T): T {
  if (err instanceof Error) {
    err.message = redactUrls(err.message);
    if (err.stack) err.stack = redactUrls(err.stack);
  }
  return err;
}
