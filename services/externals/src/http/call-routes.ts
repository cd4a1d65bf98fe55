import { type HttpApp, ProblemDetailsSchema } from '@cads/http';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import {
  AssignRiderRequest,
  AssignRiderResponse,
  ChargeRequest,
  ChargeResponse,
  type ExternalSystem,
  FailureResponse,
  idempotencyHeader,
  ReleaseRequest,
  ReserveRestaurantRequest,
  ReserveRestaurantResponse,
} from '../contracts/api.ts';
import type { CallMethod } from '../domain/config.ts';
import { answerCall, type CallContext, type CallEffect, sendAnswer } from './answer-call.ts';
import {
  assignRider,
  charge,
  refund,
  releaseReservation,
  reserveCart,
  unassignRider,
} from './effects.ts';
import { CallHeaders } from './schemas.ts';

const configured =
  'Answers the configured status of its scope (default 2xx) after the configured delay; a ' +
  'non-2xx status answers `{ reason }` without effect. A repeated `Idempotency-Key` replays ' +
  'the first 2xx/4xx answer byte-for-byte without a second effect.';

/** The parts of a validated call request the handlers read. */
interface CallRequest<Body> {
  readonly headers: { readonly [idempotencyHeader]: string };
  readonly body: Body;
}

const released = Type.Null({ description: 'Done; also when there was nothing to undo.' });
const invalid = ProblemDetailsSchema;

/** POST and DELETE of the restaurants', riders' and bank's systems. */
export function registerCallRoutes(app: HttpApp, context: CallContext): void {
  const handle =
    <Body extends ReleaseRequest>(
      system: ExternalSystem,
      method: CallMethod,
      effect: CallEffect<Body>,
    ) =>
    async (request: CallRequest<Body>, reply: FastifyReply) => {
      const call = { system, method, key: request.headers[idempotencyHeader], body: request.body };
      return sendAnswer(reply, await answerCall(context, call, effect));
    };

  app.post(
    '/api/restaurant',
    {
      schema: {
        tags: ['restaurant'],
        summary: 'Reserve a cart at the catalogue price',
        operationId: 'reserveCart',
        description: `${configured} An unknown restaurant or dish answers 422.`,
        headers: CallHeaders,
        body: ReserveRestaurantRequest,
        response: {
          201: ReserveRestaurantResponse,
          400: invalid,
          401: invalid,
          422: FailureResponse,
        },
      },
    },
    handle('restaurant', 'post', reserveCart),
  );

  app.delete(
    '/api/restaurant',
    {
      schema: {
        tags: ['restaurant'],
        summary: "Release the order's reservations",
        operationId: 'releaseReservation',
        description: configured,
        headers: CallHeaders,
        body: ReleaseRequest,
        response: { 204: released, 400: invalid, 401: invalid },
      },
    },
    handle('restaurant', 'delete', releaseReservation),
  );

  app.post(
    '/api/rider',
    {
      schema: {
        tags: ['rider'],
        summary: 'Assign a rider to the order',
        operationId: 'assignRider',
        description: configured,
        headers: CallHeaders,
        body: AssignRiderRequest,
        response: { 201: AssignRiderResponse, 400: invalid, 401: invalid },
      },
    },
    handle('rider', 'post', assignRider),
  );

  app.delete(
    '/api/rider',
    {
      schema: {
        tags: ['rider'],
        summary: "Unassign the order's riders",
        operationId: 'unassignRider',
        description: configured,
        headers: CallHeaders,
        body: ReleaseRequest,
        response: { 204: released, 400: invalid, 401: invalid },
      },
    },
    handle('rider', 'delete', unassignRider),
  );

  app.post(
    '/api/payment',
    {
      schema: {
        tags: ['payment'],
        summary: 'Charge the user (a ledger charge)',
        operationId: 'charge',
        description: configured,
        headers: CallHeaders,
        body: ChargeRequest,
        response: { 201: ChargeResponse, 400: invalid, 401: invalid },
      },
    },
    handle('payment', 'post', charge),
  );

  app.delete(
    '/api/payment',
    {
      schema: {
        tags: ['payment'],
        summary: "Refund the order's charges in full (ledger refunds)",
        operationId: 'refund',
        description: configured,
        headers: CallHeaders,
        body: ReleaseRequest,
        response: { 204: released, 400: invalid, 401: invalid },
      },
    },
    handle('payment', 'delete', refund),
  );
}
