import { describe, expect, it } from 'vitest';
import type { ExternalsConfig } from '../contracts/api.ts';
import {
  callScopes,
  checkConfig,
  deepMerge,
  defaultConfig,
  inspectionScopes,
  mergeConfig,
  parseScope,
  pickConfig,
} from './config.ts';

describe('defaultConfig', () => {
  it("is the seed's: POST 201, DELETE 204, 500 + random(0..1000) ms, for every system", () => {
    const config = defaultConfig();
    for (const system of ['restaurant', 'rider', 'payment'] as const) {
      expect(config[system].post).toEqual({
        response: 201,
        delay: 500,
        randomDelay: 1000,
        failFirst: [],
      });
      expect(config[system].delete.response).toBe(204);
    }
    expect(checkConfig(config)).toEqual({ config });
  });
});

describe('parseScope', () => {
  it('reads global, user and order scopes; absent means global', () => {
    expect(parseScope(undefined)).toEqual({ scope: 'global' });
    expect(parseScope('global')).toEqual({ scope: 'global' });
    expect(parseScope('user:u-1')).toEqual({ scope: 'user:u-1' });
    expect(parseScope('order:o:1')).toEqual({ scope: 'order:o:1' });
  });

  it('refuses anything else with a reason', () => {
    for (const text of ['', 'users:u', 'user:', 'tenant:1', `order:${'x'.repeat(101)}`]) {
      expect(parseScope(text)).toHaveProperty('reason');
    }
  });
});

describe('scope resolution', () => {
  const withResponse = (response: number): ExternalsConfig => {
    const config = defaultConfig();
    return {
      ...config,
      payment: { ...config.payment, post: { ...config.payment.post, response } },
    };
  };
  const call = { orderId: 'o1', userId: 'u1' };

  it('given no stored config, a call follows the defaults', () => {
    expect(pickConfig(callScopes(call), new Map())).toEqual(defaultConfig());
  });

  it('given order, user and global configs, the order one wins, then the user one, then global', () => {
    const stored = new Map([
      ['global', withResponse(500)],
      ['user:u1', withResponse(402)],
      ['order:o1', withResponse(503)],
    ]);
    expect(pickConfig(callScopes(call), stored).payment.post.response).toBe(503);
    stored.delete('order:o1');
    expect(pickConfig(callScopes(call), stored).payment.post.response).toBe(402);
    stored.delete('user:u1');
    expect(pickConfig(callScopes(call), stored).payment.post.response).toBe(500);
  });

  it("ignores other users' and orders' configs", () => {
    const stored = new Map([
      ['user:u2', withResponse(402)],
      ['order:o2', withResponse(503)],
    ]);
    expect(pickConfig(callScopes(call), stored).payment.post.response).toBe(201);
  });

  it('inspects a scope, then global', () => {
    expect(inspectionScopes('global')).toEqual(['global']);
    expect(inspectionScopes('user:u1')).toEqual(['user:u1', 'global']);
  });
});

describe('deepMerge', () => {
  it('merges objects key by key; arrays and values replace; inputs are untouched', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 'x' };
    const merged = deepMerge(base, { a: { c: [3] }, e: true });
    expect(merged).toEqual({ a: { b: 1, c: [3] }, d: 'x', e: true });
    expect(base).toEqual({ a: { b: 1, c: [1, 2] }, d: 'x' });
  });
});

describe('mergeConfig', () => {
  it('given a partial config, changes only what it names', () => {
    const merged = mergeConfig(defaultConfig(), {
      payment: { post: { response: 402, reason: 'card declined' } },
    });
    if (!('config' in merged)) throw new Error(merged.reasons.join('; '));
    expect(merged.config.payment.post).toEqual({
      response: 402,
      delay: 500,
      randomDelay: 1000,
      failFirst: [],
      reason: 'card declined',
    });
    expect(merged.config.payment.delete).toEqual(defaultConfig().payment.delete);
    expect(merged.config.rider).toEqual(defaultConfig().rider);
  });

  it('refuses unknown keys, wrong types and out-of-range values, naming each field', () => {
    const merged = mergeConfig(defaultConfig(), {
      bank: {},
      rider: { post: { response: '201', colour: 'red' } },
      payment: { delete: { delay: -1 } },
    });
    expect(merged).toHaveProperty('reasons');
    const reasons = 'reasons' in merged ? merged.reasons.join('\n') : '';
    expect(reasons).toContain('bank');
    expect(reasons).toContain('config/rider/post/response');
    expect(reasons).toContain('colour');
    expect(reasons).toContain('config/payment/delete/delay');
  });

  it('refuses replacing a section by something that is not an object', () => {
    expect(mergeConfig(defaultConfig(), { payment: null })).toHaveProperty('reasons');
    expect(mergeConfig(defaultConfig(), { rider: { post: [] } })).toHaveProperty('reasons');
  });
});
