import { describe, expect, it } from 'vitest';
import { parseImageRef, repoName } from './image-ref';

// The shared test universe's digest (test/fixtures/universe.md).
const DIGEST = 'sha256:9f2c1a7e3b5d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

describe('image references', () => {
  it.each([
    ['harbor.example.com/shop/checkout:1.4.2', { registry: 'harbor.example.com', repository: 'shop/checkout', tag: '1.4.2' }],
    [`harbor.example.com/shop/checkout@${DIGEST}`, { registry: 'harbor.example.com', repository: 'shop/checkout', digest: DIGEST }],
    [
      `harbor.example.com:8443/shop/checkout:1.4.2@${DIGEST}`,
      { registry: 'harbor.example.com:8443', repository: 'shop/checkout', tag: '1.4.2', digest: DIGEST },
    ],
    ['localhost/checkout', { registry: 'localhost', repository: 'checkout' }],
    ['localhost:5000/shop/checkout:dev', { registry: 'localhost:5000', repository: 'shop/checkout', tag: 'dev' }],
    ['alpine:3.19', { repository: 'alpine', tag: '3.19' }],
    ['library/alpine', { repository: 'library/alpine' }],
    ['docker.io/library/alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['acme/checkout:latest', { repository: 'acme/checkout', tag: 'latest' }],
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual({ registry: undefined, tag: undefined, digest: undefined, ...expected });
  });

  it.each([
    ['https://github.com/acme/checkout', 'acme/checkout'],
    ['https://github.com/acme/checkout.git', 'acme/checkout'],
    ['git@github.com:acme/checkout.git', 'acme/checkout'],
    ['https://gitlab.example.com/shop/platform/checkout/', 'shop/platform/checkout'],
    ['acme/checkout', 'acme/checkout'],
  ])('repo %s is %s', (value, expected) => {
    expect(repoName(value)).toBe(expected);
  });
});
