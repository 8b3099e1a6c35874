/**
 * A destination type's client library, loaded when the first destination of that type is built:
 * @slack/web-api, jira-client, @pagerduty/pdjs and @octokit/* are together about 60 MiB of a process's
 * memory (measured: their require alone), and a process loads only those of the destinations it has.
 * `load` is the package's `require`, written where the library is used.
 */
export function clientLibrary<T>(load: () => T): () => T {
  let library: T | undefined;
  return () => (library ??= load());
}
