import { existsSync } from 'node:fs';

/**
 * Debian's Chromium (`apt-get install chromium`, which .ci/run does when it is missing), or the one
 * named by CHROMIUM_PATH. playwright-core drives it; no browser is downloaded.
 */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium found (tried ${candidates.join(', ')}): install Debian's chromium package or set CHROMIUM_PATH`);
  return found;
}
