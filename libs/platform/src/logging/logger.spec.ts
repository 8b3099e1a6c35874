import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

describe('logging', () => {
  it('never writes a secret, wherever it sits in the logged object', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        destination: { type: 'slack', token: 'xoxb-secret-1', channel: '#sec' },
        config: { destinations: { pd: { routingKey: 'R0UTING-secret-2' } } },
        req: { headers: { authorization: 'Bearer secret-3' } },
        password: 'secret-4',
      },
      'delivering',
    );
    const text = lines.join('');
    expect(text).toContain('#sec');
    expect(text).not.toMatch(/secret-\d/);
    expect(text).toContain('[redacted]');
  });
});
