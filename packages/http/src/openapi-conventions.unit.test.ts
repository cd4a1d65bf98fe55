import { pino } from 'pino';
import Type from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { eventStreamResponse } from './event-stream-response.ts';
import { createHttpApp, type HttpApp } from './http-app.ts';
import { deriveOperationId } from './openapi-conventions.ts';
import { defaultRouteSecurity } from './security-schemes.ts';

interface Operation {
  readonly operationId?: string;
  readonly security?: readonly Record<string, readonly string[]>[];
  readonly parameters?: readonly { readonly in: string; readonly name: string }[];
  readonly responses: Record<string, { content?: Record<string, unknown> }>;
}

interface Document {
  readonly servers?: readonly { readonly url: string }[];
  readonly components?: { readonly securitySchemes?: Record<string, Record<string, string>> };
  readonly paths: Record<string, Record<string, Operation>>;
}

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function build(): Promise<HttpApp> {
  const app = await createHttpApp({
    service: 'test-service',
    version: '1.0.0',
    logger: pino({ level: 'silent' }),
  });
  apps.push(app);
  return app;
}

async function documentOf(app: HttpApp): Promise<Document> {
  return (await app.inject({ url: '/openapi.json' })).json<Document>();
}

describe('deriveOperationId', () => {
  it.each([
    ['GET', '/api/parcels/:id', 'getParcelsById'],
    ['POST', '/api/config/reset', 'postConfigReset'],
    ['GET', '/api/notifications/:parcelId', 'getNotificationsByParcelId'],
    ['DELETE', '/v1/user-settings', 'deleteV1UserSettings'],
    ['GET', '/apiary', 'getApiary'],
    ['GET', '/api', 'get'],
    ['GET', '/files/:name(^\\w+)', 'getFilesByName'],
    ['GET', '/api/*', 'getAny'],
  ])('%s %s → %s', (method, url, id) => {
    expect(deriveOperationId(method, url)).toBe(id);
  });
});

describe('the OpenAPI document of createHttpApp', () => {
  it('gives every operation an operationId: its own, or one derived from method and path', async () => {
    const app = await build();
    app.get('/api/things/:id', { schema: { operationId: 'getThing', security: [] } }, () => ({}));
    app.delete('/api/things/:id', { schema: { security: [] } }, () => ({}));
    const { paths } = await documentOf(app);
    expect(paths['/api/things/{id}']?.get?.operationId).toBe('getThing');
    expect(paths['/api/things/{id}']?.delete?.operationId).toBe('deleteThingsById');
    expect(paths['/health']?.get?.operationId).toBe('health');
    expect(paths['/ready']?.get?.operationId).toBe('ready');
  });

  it('refuses a route whose operationId another route has', async () => {
    const app = await build();
    app.get('/api/a', { schema: { operationId: 'same' } }, () => ({}));
    await expect(async () => {
      app.get('/api/b', { schema: { operationId: 'same' } }, () => ({}));
      await app.ready();
    }).rejects.toThrow("GET /api/b: operationId same is GET /api/a's");
  });

  it('refuses a route naming a security scheme missing from securitySchemes', async () => {
    const app = await build();
    await expect(async () => {
      app.get('/api/a', { schema: { security: [{ apiKey: [] }] } }, () => ({}));
      await app.ready();
    }).rejects.toThrow(/GET \/api\/a: no security scheme apiKey in securitySchemes/);
  });

  it('declares the schemes its operations name, and no other', async () => {
    const app = await build();
    app.get('/api/a', { schema: { security: [{ serviceToken: [] }] } }, () => ({}));
    const document = await documentOf(app);
    const schemes = document.components?.securitySchemes ?? {};
    expect(Object.keys(schemes)).toEqual(['serviceToken']);
    expect(schemes.serviceToken).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(document.paths['/api/a']?.get?.security).toEqual([{ serviceToken: [] }]);
    expect(document.paths['/health']?.get?.security).toEqual([]);
  });

  it('declares no scheme when no operation names one, and serves from `/` by default', async () => {
    const document = await documentOf(await build());
    expect(document.components?.securitySchemes).toBeUndefined();
    expect(document.servers?.map(({ url }) => url)).toEqual(['/']);
  });

  it('leaves the credential of a named scheme out of the parameters', async () => {
    const app = await build();
    app.get(
      '/api/a',
      {
        schema: {
          security: [{ adminToken: [] }],
          headers: Type.Object({ authorization: Type.String(), 'x-trace': Type.String() }),
        },
      },
      () => ({}),
    );
    const { paths } = await documentOf(app);
    expect(paths['/api/a']?.get?.parameters?.map(({ name }) => name)).toEqual(['x-trace']);
  });

  it('documents the default security of a scope on its routes that declare none', async () => {
    const app = await build();
    await app.register((admin: HttpApp) => {
      defaultRouteSecurity(admin, [{ adminToken: [] }]);
      admin.get('/api/admin/a', () => ({}));
      admin.get('/api/admin/b', { schema: { security: [] } }, () => ({}));
      return Promise.resolve();
    });
    await app.register((scope: HttpApp) => {
      defaultRouteSecurity(scope, (route) =>
        route.url.endsWith('/public') ? [] : [{ session: [] }],
      );
      scope.get('/api/user/public', () => ({}));
      scope.get('/api/user/private', () => ({}));
      return Promise.resolve();
    });
    const { paths } = await documentOf(app);
    expect(paths['/api/admin/a']?.get?.security).toEqual([{ adminToken: [] }]);
    expect(paths['/api/admin/b']?.get?.security).toEqual([]);
    expect(paths['/api/user/public']?.get?.security).toEqual([]);
    expect(paths['/api/user/private']?.get?.security).toEqual([{ session: [] }]);
  });

  it('documents an event stream as a 200 of text/event-stream', async () => {
    const app = await build();
    app.get(
      '/api/events',
      { schema: { security: [], response: { 200: eventStreamResponse('The events.') } } },
      (_request, reply) => {
        reply.hijack();
      },
    );
    const { paths } = await documentOf(app);
    expect(paths['/api/events']?.get?.responses).toEqual({
      200: {
        description: 'The events.',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
    });
  });
});
