import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import Type from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp, type HttpAppOptions } from './http-app.ts';
import { writeOpenApi } from './openapi.ts';

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

async function build(options: Partial<HttpAppOptions> = {}): Promise<HttpApp> {
  const app = await createHttpApp({
    service: 'test-service',
    version: '1.2.3',
    logger: pino({ level: 'silent' }),
    ...options,
  });
  apps.push(app);
  return app;
}

describe('GET /health', () => {
  it('answers 200 ok with a request id header', async () => {
    const app = await build({ readiness: { db: () => Promise.reject(new Error('down')) } });
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a well-formed caller request id and replaces an unsafe one', async () => {
    const app = await build();
    const kept = await app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await app.inject({ url: '/health', headers: { 'x-request-id': 'a b\u0007' } });
    expect(replaced.headers['x-request-id']).not.toBe('a b\u0007');
  });
});

describe('GET /ready', () => {
  it('answers 200 with the result of every check when all pass', async () => {
    const app = await build({
      readiness: { database: () => Promise.resolve(), broker: () => Promise.resolve() },
    });
    const response = await app.inject({ url: '/ready' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ status: string; checks: Record<string, { status: string }> }>();
    expect(body.status).toBe('ready');
    expect(body.checks.database?.status).toBe('ok');
    expect(body.checks.broker?.status).toBe('ok');
  });

  it('answers 503 problem naming failing and timed-out checks, without their errors', async () => {
    const { logger, lines } = capturedLogger();
    const app = await build({
      logger,
      readinessTimeoutMs: 50,
      readiness: {
        database: () => Promise.resolve(),
        broker: () => Promise.reject(new Error('connect ECONNREFUSED nats://user:secret@host')),
        cache: () => new Promise<void>(() => undefined),
      },
    });
    const response = await app.inject({ url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json<{
      code: string;
      detail: string;
      checks: Record<string, { status: string; reason?: string }>;
    }>();
    expect(body.code).toBe('CADS_UNAVAILABLE');
    expect(body.detail).toContain('broker');
    expect(body.detail).toContain('cache (timed out after 50 ms)');
    expect(body.detail).not.toContain('database');
    expect(body.checks.database?.status).toBe('ok');
    expect(body.checks.broker?.status).toBe('fail');
    expect(response.body).not.toContain('secret');
    expect(lines.join('')).toContain('ECONNREFUSED');
  });

  it('treats a check that throws synchronously as failing', async () => {
    const app = await build({
      readiness: {
        sync: () => {
          throw new Error('boom');
        },
      },
    });
    const response = await app.inject({ url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json<{ detail: string }>().detail).toContain('sync');
  });
});

describe('unknown routes', () => {
  it('answer 404 problem+json with the path as instance', async () => {
    const app = await build();
    const response = await app.inject({ method: 'DELETE', url: '/nope/here?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toEqual({
      type: 'urn:cads:problem:not-found',
      title: 'Not found',
      status: 404,
      code: 'CADS_NOT_FOUND',
      detail: 'No route matches DELETE /nope/here.',
      instance: '/nope/here',
    });
  });
});

describe('NUL characters', () => {
  it('are refused with 400 in the URL and in JSON bodies, before any route runs, and logged below error', async () => {
    const { logger, lines } = capturedLogger();
    const app = await build({ logger });
    let ran = 0;
    app.post(
      '/things/:id',
      { schema: { body: Type.Object({ name: Type.String(), tags: Type.Array(Type.String()) }) } },
      () => {
        ran += 1;
        return { ok: true };
      },
    );
    for (const url of ['/things/%00', '/things/a?x=%00', '/things/a?x=%2500%00', '/%00']) {
      const response = await app.inject({ method: 'POST', url, payload: { name: 'a', tags: [] } });
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toMatchObject({ code: 'CADS_BAD_REQUEST', detail: /NUL/ });
    }
    const body = await app.inject({
      method: 'POST',
      url: '/things/a',
      payload: { name: 'a', tags: ['ok', 'b\u0000'] },
    });
    expect(body.statusCode).toBe(400);
    expect(body.json()).toMatchObject({
      code: 'CADS_VALIDATION',
      errors: [{ field: 'body/tags/1', reason: expect.stringMatching(/NUL/) as unknown }],
    });
    const key = await app.inject({
      method: 'POST',
      url: '/things/a',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"a","tags":[],"x\\u0000":1}',
    });
    expect(key.statusCode).toBe(400);
    expect(ran).toBe(0);
    // An escaped `%2500` is the text `%00`, not a NUL: it reaches the route.
    const text = await app.inject({
      method: 'POST',
      url: '/things/a?x=%2500',
      payload: { name: 'a', tags: [] },
    });
    expect(text.statusCode).toBe(200);
    expect(lines.map((line) => (JSON.parse(line) as { level: number }).level)).not.toContain(50);
  });
});

describe('other control characters', () => {
  it('are refused in the URL and in body strings and keys, except tab and line breaks in text', async () => {
    const app = await build();
    let ran = 0;
    app.post(
      '/things/:id',
      {
        schema: { body: Type.Object({ name: Type.String(), note: Type.Optional(Type.String()) }) },
      },
      () => {
        ran += 1;
        return { ok: true };
      },
    );
    for (const url of ['/things/%1B', '/things/a?x=%0a', '/things/a?x=%7F', '/things/%01']) {
      const response = await app.inject({ method: 'POST', url, payload: { name: 'a' } });
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toMatchObject({ code: 'CADS_BAD_REQUEST', detail: /control/ });
    }
    const escape = await app.inject({
      method: 'POST',
      url: '/things/a',
      payload: { name: 'a\u001b[31mred' },
    });
    expect(escape.statusCode).toBe(400);
    expect(escape.json()).toMatchObject({
      code: 'CADS_VALIDATION',
      errors: [{ field: 'body/name', reason: expect.stringMatching(/U\+001B/) as unknown }],
    });
    const key = await app.inject({
      method: 'POST',
      url: '/things/a',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"a","x\\u0007":1}',
    });
    expect(key.statusCode).toBe(400);
    expect(ran).toBe(0);
    const text = await app.inject({
      method: 'POST',
      url: '/things/a',
      payload: { name: 'a', note: 'line one\nline two\r\n\tindented' },
    });
    expect(text.statusCode).toBe(200);
    expect(ran).toBe(1);
  });
});

describe('GET /metrics', () => {
  it('serves process metrics and request durations by route pattern', async () => {
    const app = await build();
    app.get('/api/bookings/:id', () => ({ ok: true }));
    await app.inject({ url: '/api/bookings/123' });
    await app.inject({ url: '/api/bookings/456' });
    await app.inject({ url: '/missing/789' });

    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toMatch(
      /cads_http_request_duration_seconds_count\{service="test-service",method="GET",route="\/api\/bookings\/:id",status="200"\} 2\n/,
    );
    expect(response.body).toContain('route="unmatched",status="404"');
    expect(response.body).not.toContain('/api/bookings/123');
  });
});

describe('OpenAPI', () => {
  const Booking = Type.Object(
    {
      venueId: Type.String({ minLength: 1 }),
      items: Type.Array(Type.Object({ itemId: Type.String(), amount: Type.Integer() })),
    },
    { additionalProperties: false },
  );

  it('GET /openapi.json lists registered routes with their schemas', async () => {
    const app = await build({ openapi: { description: 'Bookings' } });
    app.post(
      '/api/bookings',
      { schema: { body: Booking, response: { 202: Type.Object({ bookingId: Type.String() }) } } },
      (_request, reply) => {
        reply.code(202);
        return { bookingId: 'o-1' };
      },
    );
    const response = await app.inject({ url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{
      openapi: string;
      info: { title: string; version: string; description: string };
      paths: Record<string, Record<string, { requestBody?: unknown; responses?: unknown }>>;
    }>();
    expect(document.openapi).toMatch(/^3\./);
    expect(document.info).toEqual({
      title: 'test-service',
      version: '1.2.3',
      description: 'Bookings',
    });
    const post = document.paths['/api/bookings']?.post;
    expect(post?.requestBody).toMatchObject({
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['venueId', 'items'],
            additionalProperties: false,
            properties: { venueId: { type: 'string', minLength: 1 } },
          },
        },
      },
    });
    expect(post?.responses).toHaveProperty('202');
    expect(document.paths).toHaveProperty('/health');
    expect(document.paths).not.toHaveProperty('/metrics');
  });

  it('writeOpenApi writes the same document to a file', async () => {
    const app = await build();
    app.get('/api/things', { schema: { summary: 'List things' } }, () => []);
    const dir = await mkdtemp(join(tmpdir(), 'cads-openapi-'));
    try {
      const file = join(dir, 'docs', 'openapi.json');
      const written = await writeOpenApi(app, file);
      const onDisk: unknown = JSON.parse(await readFile(file, 'utf8'));
      expect(onDisk).toEqual(JSON.parse(JSON.stringify(written)));
      expect(onDisk).toHaveProperty(['paths', '/api/things', 'get', 'summary'], 'List things');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('app.close()', () => {
  it('lets in-flight requests finish, then cuts connections still open after the grace', async () => {
    const app = await build({ shutdownGraceMs: 300 });
    let release: (() => void) | undefined;
    app.get(
      '/slow',
      () => new Promise<{ done: boolean }>((resolve) => (release = () => resolve({ done: true }))),
    );
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const silent = connect(Number(new URL(url).port), '127.0.0.1');
    await once(silent, 'connect');
    const silentClosed = once(silent, 'close');
    const slow = fetch(`${url}/slow`);
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));

    const startedAt = Date.now();
    const closing = app.close();
    setTimeout(() => release?.(), 100);
    const response = await slow;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await closing;
    await silentClosed;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});
