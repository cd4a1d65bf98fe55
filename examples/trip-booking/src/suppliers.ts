import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceDefinition } from '@cads/service';
import { sql } from '@cads/storage';
import Type, { type Static } from 'typebox';

const Params = Type.Object({
  supplier: Type.Union([Type.Literal('flight'), Type.Literal('hotel'), Type.Literal('car')]),
});
const Headers = Type.Object({ 'idempotency-key': Type.String({ minLength: 1 }) });
const Booking = Type.Object({ tripId: Type.String(), destination: Type.String() });
const Trip = Type.Pick(Booking, ['tripId']);
export type Supplier = Static<typeof Params>['supplier'];

export interface SuppliersOptions {
  /** Per supplier, how long a booking takes to answer. Default: at once. */
  readonly delayMs?: Partial<Readonly<Record<Supplier, number>>>;
}

/** The destinations each supplier refuses, and why: the Moon has no flight, and so on. */
export const refusals: Readonly<Record<Supplier, Readonly<Record<string, string>>>> = {
  flight: { Moon: 'no flights to the Moon' },
  hotel: { Atlantis: 'no rooms left in Atlantis' },
  car: { Venice: 'no cars in Venice' },
};

/**
 * A mock of the airline's, the hotel's and the car rental's systems, in one service:
 * `POST /api/:supplier/bookings` books, `DELETE` cancels (404 when nothing is booked), and
 * `GET /api/effects/:tripId` lists what they did. A refusal answers 422 with `{ reason }`.
 *
 * Each call that takes effect is one row of `effects` under its idempotency key: a call
 * repeated with its key answers as the first did and does nothing more.
 */
export function suppliersService(options: SuppliersOptions = {}): ServiceDefinition {
  return {
    name: 'suppliers',
    description: 'Mock of the airline, hotel and car rental systems.',
    migrations: new URL('../migrations/suppliers/', import.meta.url),
    routes: (app, { db }) => {
      const schema = { params: Params, headers: Headers, body: Booking };
      app.post('/api/:supplier/bookings', { schema }, async (request, reply) => {
        const { supplier } = request.params;
        const { tripId, destination } = request.body;
        await sleep(options.delayMs?.[supplier] ?? 0);
        const refusal = refusals[supplier][destination];
        if (refusal !== undefined) return reply.code(422).send({ reason: refusal });
        const reference = `${supplier.toUpperCase()}-${randomUUID().slice(0, 8)}`;
        const { rows } = await db.query<{ reference: string }>(
          sql`insert into effects (idempotency_key, supplier, trip_id, action, reference)
              values (${request.headers['idempotency-key']}, ${supplier}, ${tripId}, 'book',
                      ${reference})
              ${onRepeat}`,
        );
        return reply.code(201).send(rows[0]);
      });
      const release = { ...schema, body: Trip };
      app.delete('/api/:supplier/bookings', { schema: release }, async (request, reply) => {
        const { supplier } = request.params;
        const { tripId } = request.body;
        const { rows } = await db.query<{ reference: string }>(
          sql`insert into effects (idempotency_key, supplier, trip_id, action, reference)
              select ${request.headers['idempotency-key']}, supplier, trip_id, 'cancel', reference
              from effects where supplier = ${supplier} and trip_id = ${tripId} and action = 'book'
              ${onRepeat}`,
        );
        if (rows[0]) return reply.send(rows[0]);
        return reply.code(404).send({ reason: `no ${supplier} booked for trip ${tripId}` });
      });
      app.get('/api/effects/:tripId', { schema: { params: Trip } }, async (request) => {
        const { rows } = await db.query(
          sql`select supplier, action, reference from effects
              where trip_id = ${request.params.tripId} order by at, action`,
        );
        return rows;
      });
    },
  };
}

/** A repeated key changes nothing, yet returns its row (an update that sets nothing new). */
const onRepeat = sql`on conflict (idempotency_key)
  do update set idempotency_key = excluded.idempotency_key returning reference`;
