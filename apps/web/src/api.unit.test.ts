import { describe, expect, it } from 'vitest';
import { ApiError, createApi, networkErrorMessage } from './api.ts';

function respond(status: number, body: unknown, contentType = 'application/json') {
  const calls: { input: string; init: RequestInit }[] = [];
  const api = createApi((input, init) => {
    calls.push({ input, init });
    return Promise.resolve(
      new Response(body === undefined ? null : JSON.stringify(body), {
        status,
        headers: { 'content-type': contentType },
      }),
    );
  });
  return { api, calls };
}

describe('api', () => {
  it('posts the order as JSON, same origin, and returns the accepted order', async () => {
    const { api, calls } = respond(202, { orderId: 'o1', userId: 'u1' });
    const body = { restaurantId: '48hbfe4', cart: [{ itemId: 'p01', amount: 3 }] };
    await expect(api.placeOrder(body)).resolves.toEqual({ orderId: 'o1', userId: 'u1' });
    expect(calls[0]?.input).toBe('/api/orders');
    expect(calls[0]?.init).toMatchObject({ method: 'POST', credentials: 'same-origin' });
    const sent = calls[0]?.init.body;
    expect(typeof sent === 'string' && JSON.parse(sent)).toEqual(body);
  });

  it('turns a problem+json answer into an error carrying its detail', async () => {
    const { api } = respond(
      400,
      { title: 'Bad Request', code: 'CART_INVALID', detail: 'cart[0].itemId: unknown dish x' },
      'application/problem+json',
    );
    const error = await api
      .placeOrder({ restaurantId: 'r', cart: [{ itemId: 'x', amount: 1 }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      kind: 'http',
      status: 400,
      code: 'CART_INVALID',
      message: 'cart[0].itemId: unknown dish x',
    });
  });

  it('signs up, in and out on the session routes, and shows why a sign-in was refused', async () => {
    const session = { userId: 'u-1', name: 'Ana', guest: false, email: 'ana@example.org' };
    const { api, calls } = respond(200, session);
    const credentials = { email: 'ana@example.org', password: 'a long password' };
    await expect(api.signUp({ ...credentials, name: 'Ana' })).resolves.toEqual(session);
    await expect(api.signIn(credentials)).resolves.toEqual(session);
    await api.signOut();
    await api.signOutEverywhere();
    await api.rename('Ana');
    expect(calls.map(({ input, init }) => `${init.method} ${input}`)).toEqual([
      'POST /api/account',
      'POST /api/session',
      'DELETE /api/session',
      'DELETE /api/account/sessions',
      'PUT /api/session',
    ]);
    const sent = calls[1]?.init.body;
    expect(typeof sent === 'string' && JSON.parse(sent)).toEqual(credentials);

    const { api: refusing } = respond(
      401,
      { code: 'CADS_UNAUTHORIZED', detail: 'The email or password is wrong.' },
      'application/problem+json',
    );
    await expect(refusing.signIn(credentials)).rejects.toMatchObject({
      kind: 'http',
      status: 401,
      message: 'The email or password is wrong.',
    });
  });

  it('reports an unreachable server as such', async () => {
    const api = createApi(() => Promise.reject(new TypeError('Failed to fetch')));
    await expect(api.menu()).rejects.toMatchObject({
      kind: 'network',
      message: networkErrorMessage,
    });
    const { api: gateway } = respond(502, undefined, 'text/html');
    await expect(gateway.menu()).rejects.toMatchObject({ kind: 'network' });
  });

  it('rejects an answer that is not the contract', async () => {
    const { api } = respond(200, { name: 'no user id' });
    await expect(api.session()).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('answers undefined for a missing or foreign order', async () => {
    const { api, calls } = respond(404, { code: 'ORDER_NOT_FOUND', detail: 'no such order' });
    await expect(api.order('a/b')).resolves.toBeUndefined();
    expect(calls[0]?.input).toBe('/api/orders/a%2Fb');
  });

  it('asks for the saga map once, and again only after a failure', async () => {
    const saga = {
      name: 'food-delivery',
      label: 'Food delivery',
      key: 'orderId',
      start: { type: 'order_created', label: 'Order', producer: 'order' },
      steps: [
        {
          name: 'restaurant',
          label: 'Restaurant',
          trigger: 'order_created',
          success: 'restaurant_reserved',
          failure: 'restaurant_cancelled',
          reasonField: 'restaurantCancellationReason',
          compensateOn: [],
          shows: [{ field: 'priceCents', label: 'Price', format: 'cents' }],
        },
      ],
      completion: 'restaurant_reserved',
    };
    const answers = [
      () => Promise.reject(new TypeError('Failed to fetch')),
      () => Promise.resolve(new Response(JSON.stringify({ ...saga, steps: 'none' }))),
      () => Promise.resolve(new Response(JSON.stringify(saga))),
    ];
    const calls: string[] = [];
    const api = createApi((input) => {
      calls.push(input);
      const answer = answers[calls.length - 1];
      return answer ? answer() : Promise.reject(new Error('asked again'));
    });
    await expect(api.saga()).rejects.toMatchObject({ kind: 'network' });
    await expect(api.saga()).rejects.toMatchObject({ kind: 'invalid' });
    await expect(api.saga()).resolves.toEqual(saga);
    await expect(api.saga()).resolves.toEqual(saga);
    expect(calls).toEqual(['/api/saga', '/api/saga', '/api/saga']);
  });
});
