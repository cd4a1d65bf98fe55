import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from './http-app.ts';
import { readServiceToken, serviceCredentials, serviceTokenCheck } from './service-token.ts';

const secret = 'internal-secret-0123456789abcdef-0123';
const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** An app named `billing` whose one route answers the verified caller. */
async function billingApp(
  options: { callers?: readonly string[]; now?: () => number; acceptedSecrets?: string[] } = {},
) {
  const app = await createHttpApp({
    service: 'billing',
    version: '1.0.0',
    logger: pino({ level: 'silent' }),
  });
  apps.push(app);
  const check = serviceTokenCheck({ secret, audience: 'billing', ...options });
  app.get('/who', { onRequest: check.onRequest }, (request) => check.callerOf(request));
  return app;
}

const get = (app: HttpApp, authorization?: string) =>
  app.inject({
    method: 'GET',
    url: '/who',
    ...(authorization === undefined ? {} : { headers: { authorization } }),
  });

describe('service tokens', () => {
  it('let through a token for this audience, naming the caller and the user it acts for', async () => {
    const app = await billingApp();
    const bff = serviceCredentials({ secret, service: 'bff' });
    const answer = await get(app, await bff.authorization('billing', 'u-1'));
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ service: 'bff', userId: 'u-1' });
    const own = await get(app, await bff.authorization('billing'));
    expect(own.json()).toEqual({ service: 'bff' });
  });

  it('refuse a request without a token, with a garbled one, or one for another audience (401)', async () => {
    const app = await billingApp();
    const bff = serviceCredentials({ secret, service: 'bff' });
    for (const header of [
      undefined,
      'Bearer nonsense',
      'Basic dXNlcjpwYXNz',
      await bff.authorization('mailer', 'u-1'),
    ]) {
      const answer = await get(app, header);
      expect(answer.statusCode, String(header)).toBe(401);
      expect(answer.headers['www-authenticate']).toContain('Bearer');
      expect(answer.json()).toMatchObject({ code: 'CADS_UNAUTHORIZED' });
    }
  });

  it('refuse a token signed with another secret', async () => {
    const app = await billingApp();
    const forger = serviceCredentials({ secret: `${secret}-not-it`, service: 'bff' });
    expect((await get(app, await forger.authorization('billing', 'u-1'))).statusCode).toBe(401);
  });

  it('accept tokens of the secrets accepted besides, for a rotation', async () => {
    const next = 'the-next-internal-secret-0123456789abcd';
    const app = await billingApp({ acceptedSecrets: [next] });
    const rotated = serviceCredentials({ secret: next, service: 'bff' });
    const current = serviceCredentials({ secret, service: 'bff' });
    expect((await get(app, await rotated.authorization('billing'))).statusCode).toBe(200);
    expect((await get(app, await current.authorization('billing'))).statusCode).toBe(200);
    const stranger = serviceCredentials({ secret: `${next}-x`, service: 'bff' });
    expect((await get(app, await stranger.authorization('billing'))).statusCode).toBe(401);
  });

  it('read a token outside fastify as the hook does', async () => {
    const bff = serviceCredentials({ secret, service: 'bff' });
    const header = await bff.authorization('billing', 'u-9');
    expect(await readServiceToken({ secret, audience: 'billing' }, header)).toEqual({
      service: 'bff',
      userId: 'u-9',
    });
    expect(await readServiceToken({ secret, audience: 'courier' }, header)).toEqual({
      refused: 'The service token is not valid here.',
    });
  });

  it('refuse an expired token', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const app = await billingApp({ now: () => clock });
    const bff = serviceCredentials({ secret, service: 'bff', ttlMs: 60_000, now: () => clock });
    const header = await bff.authorization('billing', 'u-1');
    expect((await get(app, header)).statusCode).toBe(200);
    clock += 66_000;
    const late = await get(app, header);
    expect(late.statusCode).toBe(401);
    expect(late.json()).toMatchObject({ detail: 'The service token has expired.' });
  });

  it('refuse a caller not allowed (403)', async () => {
    const app = await billingApp({ callers: ['bff'] });
    const courier = serviceCredentials({ secret, service: 'courier' });
    expect((await get(app, await courier.authorization('billing'))).statusCode).toBe(403);
  });

  it('reuse a token without a user for half its life, then sign a new one', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const bff = serviceCredentials({ secret, service: 'bff', ttlMs: 60_000, now: () => clock });
    const first = await bff.authorization('billing');
    expect(await bff.authorization('billing')).toBe(first);
    clock += 31_000;
    expect(await bff.authorization('billing')).not.toBe(first);
  });

  it('refuse a short secret', () => {
    expect(() => serviceCredentials({ secret: 'short', service: 'bff' })).toThrow(/32 characters/);
  });
});
