import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, parseConfig } from '@klaxon/platform';
import { testPrefix, testRedisUrl } from '../../../test/support/redis';
import { startKlaxon } from './klaxon';

describe('starting Klaxon', () => {
  it('without an API token: generates one into an owner-only file, never into the log, and names the webhooks opened to anyone', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const file = join(mkdtempSync(join(tmpdir(), 'klaxon-token-')), 'api-token');
    const config = parseConfig('sources:\n  falco: { allowUnauthenticated: true }\n  tetragon: {}\n  github:\n    secret: s3cret\nroutes: {}\n', {});
    const klaxon = await startKlaxon({
      config,
      redisUrl: testRedisUrl(),
      prefix: testPrefix('start'),
      port: 0,
      host: '127.0.0.1',
      logger,
      generatedTokenFile: file,
    });
    try {
      const token = readFileSync(file, 'utf8').trim();
      expect(token).toHaveLength(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(lines.join('')).not.toContain(token);
      const res = await fetch(`${klaxon.url}/v1/quarantine`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);

      const open = lines.map((l) => JSON.parse(l) as { msg: string; integrations?: string[] }).find((l) => l.integrations);
      expect(open?.integrations).toEqual(['falco']);
    } finally {
      await klaxon.close();
    }
  });
});
