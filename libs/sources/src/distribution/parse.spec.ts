import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { IgnoredInput, ParseError, type SourceMeta } from '../source';
import { registryIntegration } from './integration';
import { distributionParser } from './parse';

const fixture = (name: string) => fixtureIn('distribution', name);
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
const meta: SourceMeta = { eventId: 'evt_reg', receivedAt: '2024-06-03T09:12:00.000Z', integration: 'webhook:registry', context: {} };

describe('registry (distribution) notifications', () => {
  it('records a pushed manifest as an image asset and skips the layer pushed before it', () => {
    expect(distributionParser.parse(fixture('push.json'), meta)).toEqual({
      findings: [],
      assets: [
        {
          type: 'image',
          digest: DIGEST,
          registry: 'registry.example.com',
          repository: 'shop/checkout',
          tags: ['1.4.2'],
          labels: {},
          observedAt: '2024-06-03T09:11:58.402Z',
        },
      ],
      scopes: [],
    });
  });

  it('acknowledges envelopes without a manifest push', () => {
    expect(() => distributionParser.parse(fixture('pull.json'), meta)).toThrow(IgnoredInput);
    expect(() => distributionParser.parse('{"events": []}', meta)).toThrow(IgnoredInput);
  });

  it('rejects a manifest push without a digest and a body without events, naming the field', () => {
    const paths = ['push-missing-digest.json', '{"event": {}}'].map((input) => {
      try {
        distributionParser.parse(input.endsWith('.json') ? fixture(input) : input, meta);
      } catch (err) {
        return (err as ParseError).path;
      }
    });
    expect(paths).toEqual(['events[0].target.digest', 'events']);
  });

  it('checks the bearer token when sources.registry.token is set', () => {
    const sources = { registry: { token: 'reg-token' } };
    expect(registryIntegration.authenticate({ headers: { authorization: 'Bearer reg-token' }, raw: '{}' }, sources)).toBeUndefined();
    expect(registryIntegration.authenticate({ headers: { authorization: 'Bearer nope' }, raw: '{}' }, sources)).toMatch(/sources\.registry\.token/);
    expect(registryIntegration.authenticate({ headers: {}, raw: '{}' }, sources)).toMatch(/missing/);
    expect(registryIntegration.authenticate({ headers: {}, raw: '{}' }, {})).toMatch(/sources\.registry\.token is not set/);
    expect(registryIntegration.authenticate({ headers: {}, raw: '{}' }, { registry: { allowUnauthenticated: true } })).toBeUndefined();
  });
});
