import { describe, expect, it } from 'vitest';
import { fixture as fixtureIn } from '../../../../test/support/fixtures';
import { IgnoredInput, ParseError, type SourceMeta } from '../source';
import { gitlabIntegration } from './integration';
import { gitlabParser } from './parse';

const fixture = (name: string) => fixtureIn('gitlab', name);
const SHA = '4e1f0c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const meta: SourceMeta = { eventId: 'evt_gl', receivedAt: '2024-06-03T09:12:00.000Z', integration: 'webhook:gitlab', context: {} };

describe('GitLab pipeline and merge request hooks', () => {
  it('records a merge request pipeline as the build of its commit for the merge request', () => {
    const batch = gitlabParser.parse(fixture('pipeline-hook.json'), meta);
    expect(batch.findings).toEqual([]);
    expect(batch.assets).toEqual([
      {
        type: 'build',
        repo: 'acme/checkout',
        commit: SHA,
        branch: 'feature/faster-cart',
        pullRequests: [42],
        digests: [],
        url: 'https://gitlab.example.com/acme/checkout/-/pipelines/31877',
        observedAt: '2024-06-03T09:12:00.000Z',
      },
    ]);
  });

  it("does not take a tag pipeline's ref for a branch", () => {
    const [asset] = gitlabParser.parse(fixture('pipeline-tag.json'), meta).assets;
    expect(asset).toMatchObject({ commit: SHA, branch: undefined, pullRequests: [] });
  });

  it('links a merge request to its last commit', () => {
    const [asset] = gitlabParser.parse(fixture('merge-request-hook.json'), meta).assets;
    expect(asset).toMatchObject({
      repo: 'acme/checkout',
      commit: SHA,
      branch: 'feature/faster-cart',
      pullRequests: [42],
      url: 'https://gitlab.example.com/acme/checkout/-/merge_requests/42',
    });
  });

  it('acknowledges other hooks and rejects malformed ones naming the field', () => {
    expect(() => gitlabParser.parse(fixture('push-hook.json'), meta)).toThrow(IgnoredInput);
    const err = (() => {
      try {
        gitlabParser.parse(fixture('pipeline-missing-sha.json'), meta);
      } catch (e) {
        return e as ParseError;
      }
    })();
    expect(err).toBeInstanceOf(ParseError);
    expect(err!.path).toBe('object_attributes.sha');
    expect(() => gitlabParser.parse('{"event_type": "x"}', meta)).toThrow(/object_kind/);
  });
});

describe('GitLab webhook token', () => {
  const request = (token?: string) => ({ headers: { 'x-gitlab-token': token, 'x-gitlab-event': 'Pipeline Hook', 'idempotency-key': 'k-1' }, raw: '{}' });

  it('accepts only the configured token and refuses all until one is set', () => {
    expect(gitlabIntegration.authenticate(request('gl-token'), { gitlab: { token: 'gl-token' } })).toBeUndefined();
    expect(gitlabIntegration.authenticate(request('other'), { gitlab: { token: 'gl-token' } })).toMatch(/does not match sources\.gitlab\.token/);
    expect(gitlabIntegration.authenticate(request(), { gitlab: { token: 'gl-token' } })).toMatch(/missing X-Gitlab-Token/);
    expect(gitlabIntegration.authenticate(request('gl-token'), {})).toMatch(/sources\.gitlab\.token/);
  });

  it('uses the idempotency key to recognise a retry', () => {
    expect(gitlabIntegration.deliveryId!(request())).toBe('k-1');
    expect(gitlabIntegration.deliveryId!({ headers: { 'x-gitlab-event-uuid': 'u-1' }, raw: '{}' })).toBe('u-1');
  });
});
