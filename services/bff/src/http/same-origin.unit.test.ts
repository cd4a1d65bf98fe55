import { describe, expect, it } from 'vitest';
import { climbsOut } from '../app.ts';
import { isSameOrigin } from './same-origin.ts';

describe('isSameOrigin', () => {
  it('accepts the origin of the host the request was sent to, and nothing else', () => {
    expect(isSameOrigin('http://127.0.0.1:3000', '127.0.0.1:3000')).toBe(true);
    expect(isSameOrigin('https://shop.example', 'shop.example')).toBe(true);
    for (const [origin, host] of [
      ['http://127.0.0.1:3001', '127.0.0.1:3000'],
      ['http://evil.example', '127.0.0.1:3000'],
      ['http://shop.example.evil.example', 'shop.example'],
      ['null', 'shop.example'],
      ['file://', ''],
      ['javascript:alert(1)', 'shop.example'],
      ['not a url', 'shop.example'],
    ] as const) {
      expect(isSameOrigin(origin, host), origin).toBe(false);
    }
    expect(isSameOrigin('http://127.0.0.1:3000', undefined)).toBe(false);
  });
});

describe('climbsOut', () => {
  it('finds a `..` segment however it is written, and only a whole segment', () => {
    for (const url of [
      '/../etc/passwd',
      '/a/../../b',
      '/%2e%2e/x',
      '/%2E%2E%2Fx',
      '/..%5cx',
      '/a\\..\\b',
      '/..?q=1',
    ]) {
      expect(climbsOut(url), url).toBe(true);
    }
    for (const url of ['/', '/assets/index.js', '/a..b/c', '/...', '/x?path=../y', '/%E0%A4%A']) {
      expect(climbsOut(url), url).toBe(false);
    }
  });
});
