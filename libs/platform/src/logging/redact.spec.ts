import { describe, expect, it } from 'vitest';
import { redactUrls } from './redact';

describe('redacting URLs in error texts', () => {
  it.each([
    [
      'request to https://klaxon:s3cret@siem.example.com/hook failed, reason: ECONNREFUSED',
      'request to https://***@siem.example.com/hook failed, reason: ECONNREFUSED',
    ],
    ['GET http://hooks.example.com/in?token=abc123&team=sec → 500', 'GET http://hooks.example.com/in?token=***&team=sec → 500'],
    ['https://s3.example.com/b/o?X-Amz-Signature=deadbeef&X-Amz-Expires=60', 'https://s3.example.com/b/o?X-Amz-Signature=***&X-Amz-Expires=60'],
    ['redis://:pw@127.0.0.1:6379/0 unreachable', 'redis://***@127.0.0.1:6379/0 unreachable'],
    ['no URL here: a@b and key=value', 'no URL here: a@b and key=value'],
  ])('%s', (text, expected) => {
    expect(redactUrls(text)).toBe(expected);
  });
});
