import { createHash } from 'node:crypto';
import { menu } from '@cads/externals/contracts';
import { type HttpApp, httpProblem, type ProblemDetails, ProblemDetailsSchema } from '@cads/http';
import {
  OrderAccepted,
  OrderHistory,
  OrderParams,
  OrderView,
  PlaceOrderBody,
} from '@cads/order/contracts';
import type { SagaMap } from '@cads/saga';
import Type from 'typebox';
import { ClientConfig, Menu, NotificationInbox, SagaDescription } from '../contracts/api.ts';
import type { Accounts } from '../session/accounts.ts';
import { registerSessionRoutes } from '../session/session-routes.ts';
import type { Sessions } from '../session/sessions.ts';
import type { LimitHooks } from './limits.ts';
import type { Upstream } from './upstream.ts';

export interface ApiRouteOptions {
  readonly sessions: Sessions;
  readonly accounts: Accounts;
  readonly limits: LimitHooks;
  readonly upstream: Upstream;
  readonly clientConfig: ClientConfig;
  readonly saga: SagaMap;
}

const Problem = ProblemDetailsSchema;

/**
 * The browser's API (see `contracts/api.ts`). Every route acts for the session's user only; the
 * routes that need no user say so (`config.session: 'none'`), and no session is read for them.
 */
export function registerApiRoutes(app: HttpApp, options: ApiRouteOptions): void {
  const { sessions, accounts, upstream, clientConfig, saga, limits } = options;
  const tags = ['app'];
  const sagaBody = sagaDescription(saga);
  // The map is fixed for the life of the process: one tag for it, computed once.
  const sagaTag = `"${createHash('sha256').update(JSON.stringify(sagaBody)).digest('base64url')}"`;

  registerSessionRoutes(app, { sessions, accounts, limits });

  app.get(
    '/api/config',
    {
      config: { session: 'none' },
      schema: { tags, summary: 'Runtime settings of the web app', response: { 200: ClientConfig } },
    },
    () => clientConfig,
  );

  app.get(
    '/api/menu',
    {
      config: { session: 'none' },
      schema: { tags, summary: 'Restaurants and dishes, prices in cents', response: { 200: Menu } },
    },
    (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=300');
      return menu.map((restaurant) => ({ ...restaurant, dishes: [...restaurant.dishes] }));
    },
  );

  app.get(
    '/api/saga',
    {
      config: { session: 'none' },
      schema: {
        tags,
        summary: 'The saga’s map: its steps, their events, labels and shown fields',
        description:
          'Public (no session is read or created) and cacheable: the same for every user ' +
          'until the deployment changes its saga. `If-None-Match` with the `ETag` answers 304.',
        response: {
          200: SagaDescription,
          304: Type.Null({ description: 'Not modified: the ETag sent is still current.' }),
        },
      },
    },
    (request, reply) => {
      void reply.header('cache-control', 'public, max-age=300').header('etag', sagaTag);
      const known = request.headers['if-none-match']?.split(',').map((tag) => tag.trim());
      if (known?.some((tag) => tag === sagaTag || tag === `W/${sagaTag}` || tag === '*')) {
        void reply.code(304).send(null);
        return;
      }
      return sagaBody;
    },
  );

  app.post(
    '/api/orders',
    {
      onRequest: limits.placeOrder,
      schema: {
        tags,
        summary: 'Places an order for the session’s user',
        body: PlaceOrderBody,
        response: { 202: OrderAccepted, 400: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const { userId } = sessions.of(request, reply);
      const answer = await upstream.placeOrder(userId, request.body);
      if (answer.status === 202) return reply.code(202).send(answer.body as OrderAccepted);
      // The order service's own refusal (e.g. an unknown dish), passed on as it is.
      return reply
        .code(answer.status as 400)
        .type('application/problem+json; charset=utf-8')
        .send(answer.body as ProblemDetails);
    },
  );

  app.get(
    '/api/orders',
    {
      schema: {
        tags,
        summary: 'The user’s orders, newest first',
        response: { 200: OrderHistory, 503: Problem },
      },
    },
    async (request, reply) => upstream.history(sessions.of(request, reply).userId),
  );

  app.get(
    '/api/orders/:id',
    {
      schema: {
        tags,
        summary: 'One of the user’s orders: state and timeline',
        params: OrderParams,
        response: { 200: OrderView, 404: Problem, 503: Problem },
      },
    },
    async (request, reply) => {
      const { userId } = sessions.of(request, reply);
      const order = await upstream.findOrder(userId, request.params.id);
      if (!order) throw httpProblem('CADS_NOT_FOUND', `There is no order ${request.params.id}.`);
      return order;
    },
  );

  app.get(
    '/api/notifications',
    {
      schema: {
        tags,
        summary: 'The user’s notifications, newest first',
        response: { 200: NotificationInbox, 503: Problem },
      },
    },
    async (request, reply) => upstream.notifications(sessions.of(request, reply).userId),
  );

  // Anything else under /api is a client bug: say so in JSON, not with the web app's page.
  app.all(
    '/api/*',
    { config: { session: 'none' }, schema: { hide: true, response: { 404: Problem } } },
    (request) => {
      throw httpProblem('CADS_NOT_FOUND', `No route ${request.method} ${request.url}.`);
    },
  );
}

/** The map's plain description in the contract's shape (mutable arrays, copied once). */
function sagaDescription(saga: SagaMap): SagaDescription {
  const described = saga.describe();
  return {
    ...described,
    start: { ...described.start },
    steps: described.steps.map((step) => ({
      ...step,
      compensateOn: [...step.compensateOn],
      shows: step.shows.map((shown) => ({ ...shown })),
    })),
  };
}
