import { type HttpApp, ProblemDetailsSchema } from '@cads/http';
import type { Database } from '@cads/storage';
import Type from 'typebox';
import { LedgerEntry } from '../contracts/api.ts';
import { listAssignments } from '../store/assignments-store.ts';
import { listLedger } from '../store/ledger-store.ts';
import { listReservations } from '../store/reservations-store.ts';
import { AssignmentSchema, LedgerQuery, OrderQuery, ReservationSchema } from './schemas.ts';

const errors = { 400: ProblemDetailsSchema, 401: ProblemDetailsSchema };

/** What the mocked systems recorded. Admin only: register behind the admin token check (`routes.ts`). */
export function registerInspectionRoutes(app: HttpApp, db: Database): void {
  app.get(
    '/api/payment/ledger',
    {
      schema: {
        tags: ['payment'],
        summary: 'Charges and refunds, in booking order',
        operationId: 'listLedger',
        querystring: LedgerQuery,
        response: { 200: Type.Array(LedgerEntry), ...errors },
      },
    },
    async (request) => listLedger(db, request.query),
  );

  app.get(
    '/api/restaurant/reservations',
    {
      schema: {
        tags: ['restaurant'],
        summary: 'Reservations, active and released',
        operationId: 'listReservations',
        querystring: OrderQuery,
        response: { 200: Type.Array(ReservationSchema), ...errors },
      },
    },
    async (request) => listReservations(db, request.query),
  );

  app.get(
    '/api/rider/assignments',
    {
      schema: {
        tags: ['rider'],
        summary: 'Rider assignments, active and released',
        operationId: 'listAssignments',
        querystring: OrderQuery,
        response: { 200: Type.Array(AssignmentSchema), ...errors },
      },
    },
    async (request) => listAssignments(db, request.query),
  );
}
