/** Why a call to a Klaxon server did not give an answer to work with; the CLI exits 2 on it. */
export class ServerCallFailed extends Error {}

/**
 * One call to a Klaxon server's API with the bearer token. Returns the status and parsed JSON;
 * throws ServerCallFailed when the server cannot be reached or answers with something not JSON.
 */
export async function callServer(
  server: string,
  token: string,
  path: string,
  init: { method?: string; body?: string; query?: Record<string, string | undefined> } = {},
): Promise<{ status: number; body: any }> /* eslint-disable-line @typescript-eslint/no-explicit-any -- each command reads its own answer's shape */ {
  let url: URL;
  try {
    url = new URL(path, server);
  } catch {
    throw new ServerCallFailed(`--server "${server}" is not a URL`);
  }
  for (const [key, value] of Object.entries(init.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      body: init.body,
      headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    });
  } catch (err) {
    throw new ServerCallFailed(`cannot reach ${url.origin}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    // Not JSON (a proxy's error page): show it as it came.
    throw new ServerCallFailed(`the server answered ${response.status}: ${text.slice(0, 500)}`);
  }
}

/** The message of an API error body (`{error, message, field}`), or the status. */
export function errorMessage(status: number, body: unknown): string {
  const message = (body as { message?: string } | undefined)?.message;
  return `the server answered ${status}${message ? `: ${message}` : ''}`;
}
