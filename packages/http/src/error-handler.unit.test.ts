import { pino } from 'pino';
import Type from 'typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from './http-app.ts';
import { httpProblem, problemType } from './problem.ts';

const LineItem = Type.Object(
  { itemId: Type.String({ minLength: 1 }), amount: Type.Integer({ minimum: 1, maximum: 50 }) },
  { additionalProperties: false },
);
const PlaceBooking = Type.Object(
  { venueId: Type.String({ minLength: 1 }), items: Type.Array(LineItem, { minItems: 1 }) },
  { additionalProperties: false },
);

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  errors?: { field: string; reason: string }[];
}

let app: HttpApp;
let logLines: string[];
let received: unknown[];

beforeEach(async () => {
  logLines = [];
  received = [];
  app = await createHttpApp({
    service: 'bookings',
    version: '0.0.1',
    bodyLimitBytes: 1024,
    logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
  });
  app.post('/api/bookings', { schema: { body: PlaceBooking } }, (request, reply) => {
    received.push(request.body);
    return reply.code(202).send({ accepted: true });
  });
  app.get(
    '/api/bookings',
    { schema: { querystring: Type.Object({ limit: Type.Integer({ maximum: 100 }) }) } },
    (request) => ({ limit: request.query.limit, type: typeof request.query.limit }),
  );
  app.get('/conflict', () => {
    throw httpProblem('CADS_CONFLICT', 'Booking o-1 is already paid.', {
      headers: { 'retry-after': '5' },
      extensions: { bookingId: 'o-1' },
    });
  });
  app.get('/bug', () => {
    throw new Error('db password is hunter2');
  });
  app.get('/database-down', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    throw new Error('transaction failed', { cause: refused });
  });
  app.get('/upstream', () => {
    throw Object.assign(new Error('upstream said not found'), { statusCode: 404 });
  });
});

afterEach(async () => {
  await app.close();
});

function postBooking(body: unknown) {
  return app.inject({ method: 'POST', url: '/api/bookings', payload: body as object });
}

function expectProblem(response: { statusCode: number; headers: Record<string, unknown> }) {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
}

describe('schema validation', () => {
  it('accepts a valid body', async () => {
    const response = await postBooking({ venueId: 'r1', items: [{ itemId: 'p01', amount: 3 }] });
    expect(response.statusCode).toBe(202);
    expect(received).toHaveLength(1);
  });

  it('rejects an invalid body with 400 naming every invalid field', async () => {
    const response = await postBooking({ items: [{ itemId: 'p01', amount: 51 }] });
    expect(response.statusCode).toBe(400);
    expectProblem(response);
    const problem = response.json<Problem>();
    expect(problem).toMatchObject({
      type: problemType('CADS_VALIDATION'),
      status: 400,
      code: 'CADS_VALIDATION',
      instance: '/api/bookings',
    });
    expect(problem.detail).toContain('body/items/0/amount must be <= 50');
    expect(problem.detail).toContain('body/venueId is required');
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { field: 'body/items/0/amount', reason: 'must be <= 50' },
        { field: 'body/venueId', reason: 'is required' },
      ]),
    );
    expect(received).toHaveLength(0);
  });

  it('rejects extra fields instead of stripping them, at any depth', async () => {
    const top = await postBooking({ venueId: 'r1', items: [{ itemId: 'a', amount: 1 }], x: 1 });
    expect(top.statusCode).toBe(400);
    expect(top.json<Problem>().errors).toEqual([{ field: 'body/x', reason: 'is not allowed' }]);

    const nested = await postBooking({
      venueId: 'r1',
      items: [{ itemId: 'a', amount: 1, priceCents: 0 }],
    });
    expect(nested.statusCode).toBe(400);
    expect(nested.json<Problem>().detail).toBe('body/items/0/priceCents is not allowed');
    expect(received).toHaveLength(0);
  });

  it('does not coerce body values (null is not an empty string, "5" is not 5)', async () => {
    const response = await postBooking({ venueId: null, items: [{ itemId: 'a', amount: '5' }] });
    expect(response.statusCode).toBe(400);
    const fields = response.json<Problem>().errors?.map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['body/venueId', 'body/items/0/amount']));
  });

  it('still coerces querystring values, and validates them', async () => {
    const ok = await app.inject({ url: '/api/bookings?limit=5' });
    expect(ok.json()).toEqual({ limit: 5, type: 'number' });
    const bad = await app.inject({ url: '/api/bookings?limit=500' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Problem>().detail).toBe('querystring/limit must be <= 100');
  });
});

describe('unparseable requests', () => {
  it('answers 400 to malformed JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: { 'content-type': 'application/json' },
      payload: '{"venueId": "r1", ',
    });
    expect(response.statusCode).toBe(400);
    expectProblem(response);
    expect(response.json<Problem>()).toMatchObject({
      code: 'CADS_MALFORMED_BODY',
      detail: 'The body is not valid JSON.',
    });
  });

  it('answers 413 to a body over the limit', async () => {
    const response = await postBooking({ venueId: 'x'.repeat(2048), items: [] });
    expect(response.statusCode).toBe(413);
    expect(response.json<Problem>().code).toBe('CADS_PAYLOAD_TOO_LARGE');
  });

  it('answers 415 to a media type without a parser', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/bookings',
      headers: { 'content-type': 'application/xml' },
      payload: '<booking/>',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json<Problem>().code).toBe('CADS_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('thrown errors', () => {
  it('renders a thrown problem with its status, code, headers and extensions', async () => {
    const response = await app.inject({ url: '/conflict' });
    expect(response.statusCode).toBe(409);
    expectProblem(response);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toEqual({
      type: 'urn:cads:problem:conflict',
      title: 'Conflict with the current state',
      status: 409,
      code: 'CADS_CONFLICT',
      detail: 'Booking o-1 is already paid.',
      instance: '/conflict',
      bookingId: 'o-1',
    });
  });

  it('answers 500 to an unexpected error without leaking it, and logs it with its stack', async () => {
    const response = await app.inject({ url: '/bug' });
    expect(response.statusCode).toBe(500);
    expectProblem(response);
    const problem = response.json<Problem>();
    expect(problem.code).toBe('CADS_INTERNAL');
    expect(problem.detail).toContain(String(response.headers['x-request-id']));
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('error-handler.unit.test');
    expect(response.body).not.toMatch(/\bat\s/);

    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const failure = logged.find((entry) => entry.msg === 'request failed');
    expect(failure).toMatchObject({ level: 50, service: 'bookings', code: 'CADS_INTERNAL' });
    expect(JSON.stringify(failure)).toContain('hunter2');
    expect(JSON.stringify(failure)).toContain('error-handler.unit.test');
    expect(failure?.requestId).toBe(response.headers['x-request-id']);
  });

  it('answers 503 with Retry-After to a database outage, logged as a warning without a stack', async () => {
    const response = await app.inject({ url: '/database-down' });
    expect(response.statusCode).toBe(503);
    expectProblem(response);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json<Problem>().code).toBe('CADS_UNAVAILABLE');
    expect(response.body).not.toContain('ECONNREFUSED');

    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const outage = logged.find((entry) => entry.code === 'CADS_UNAVAILABLE');
    expect(outage).toMatchObject({
      level: 40,
      cause: 'connect ECONNREFUSED 127.0.0.1:5432',
      msg: 'request failed: dependency unavailable',
    });
    expect(JSON.stringify(outage)).not.toContain('error-handler.unit.test');
    expect(logged.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
  });

  it('does not trust a statusCode on errors that are not Fastify’s own', async () => {
    const response = await app.inject({ url: '/upstream' });
    expect(response.statusCode).toBe(500);
    expect(response.json<Problem>().code).toBe('CADS_INTERNAL');
  });
});
