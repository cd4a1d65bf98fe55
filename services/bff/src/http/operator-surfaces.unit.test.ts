import { createHttpApp, type HttpApp } from '@cads/http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { installOperatorSurfaces } from './operator-surfaces.ts';

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function bffPort(): Promise<HttpApp> {
  const app = await createHttpApp({
    service: 'bff',
    version: '1.0.0',
    logger: pino({ level: 'silent' }),
  });
  apps.push(app);
  installOperatorSurfaces(app, 'operator-token');
  app.get('/api/menu', { schema: { hide: true } }, () => ({ open: true }));
  return app;
}

describe('the operator surfaces of the BFF’s port', () => {
  it('answer 401 without the admin token, with a challenge', async () => {
    const app = await bffPort();
    for (const url of ['/metrics', '/openapi.json', '/metrics?x=1']) {
      for (const authorization of [undefined, 'Bearer wrong', 'operator-token']) {
        const answer = await app.inject({
          url,
          ...(authorization === undefined ? {} : { headers: { authorization } }),
        });
        expect(answer.statusCode, `${url} ${authorization}`).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="cads-admin"');
        expect(answer.body).not.toContain('cads_http_request');
      }
    }
  });

  it('answer the operator who brings it', async () => {
    const app = await bffPort();
    const headers = { authorization: 'Bearer operator-token' };
    const metrics = await app.inject({ url: '/metrics', headers });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('# TYPE');
    const document = await app.inject({ url: '/openapi.json', headers });
    expect(document.json()).toMatchObject({ openapi: '3.1.0' });
  });

  it('leave the probes and the browser’s routes open', async () => {
    const app = await bffPort();
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/menu' })).statusCode).toBe(200);
  });
});
