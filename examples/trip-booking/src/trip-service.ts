import { randomUUID } from 'node:crypto';
import { type HandlerDefinition, on, TerminalError } from '@cads/consumer';
import { httpProblem } from '@cads/http';
import { createMessage, type Message } from '@cads/messaging';
import {
  installSagaDeadlineTables,
  type SagaDeadlineOptions,
  type SagaDeadlines,
  sagaDeadlines,
  type ServiceDefinition,
} from '@cads/service';
import type { SagaVerdict } from '@cads/saga';
import type { Transaction } from '@cads/storage';
import Type from 'typebox';
import { TripRequested } from './contracts/events.ts';
import { findTrip, insertTrip, recordTripEvent, tripEvents } from './trip-store.ts';
import { tripSaga } from './trip-saga.ts';

const source = '/cads/trip';
const NewTrip = Type.Omit(TripRequested, ['tripId'], { additionalProperties: false });
const TripParams = Type.Pick(TripRequested, ['tripId']);

/** How long a trip has (`afterMs`, default: the saga's 5 minutes) and how often it is checked. */
export type TripServiceOptions = Omit<SagaDeadlineOptions, 'source'>;

/**
 * The trip service, the saga's tracker: `POST /api/trips` starts a trip, every step event is
 * recorded on its timeline, `GET /api/trips/:tripId` answers the map's verdict on it, and a
 * trip that has not ended by its deadline is failed with `trip_timed_out`.
 */
export function tripService(options: TripServiceOptions = {}): ServiceDefinition {
  const deadlines = sagaDeadlines(tripSaga, { ...options, source });
  return {
    name: 'trip',
    description: 'Starts trips, tracks their saga, and fails a trip that has not ended in time.',
    migrations: new URL('../migrations/trip/', import.meta.url),
    runtimeTables: [installSagaDeadlineTables],
    consumer: { handlers: outcomeHandlers(deadlines) },
    run: (context) => Promise.resolve(deadlines.start(context, expireTrip)),
    routes: (app, { db, outbox }) => {
      // The trip, its first event, its deadline and `trip_requested` commit together: a 202
      // means the saga runs and the deadline will fire unless the trip ends first.
      app.post('/api/trips', { schema: { body: NewTrip } }, async (request, reply) => {
        const trip = { tripId: randomUUID(), ...request.body };
        const { tripId } = trip;
        const start = createMessage({
          type: 'trip_requested',
          source,
          subject: tripId,
          data: trip,
        });
        await db.transaction(async (tx) => {
          await insertTrip(tx, trip, start);
          await deadlines.arm(tx, { sagaId: tripId, startedAt: new Date(start.time) });
          await outbox.enqueue(tx, [start]);
        });
        outbox.committed();
        return reply.code(202).send({ tripId });
      });
      app.get('/api/trips/:tripId', { schema: { params: TripParams } }, async (request) => {
        const { tripId } = request.params;
        const trip = await findTrip(db, tripId);
        if (!trip) throw httpProblem('CADS_NOT_FOUND', `no trip ${tripId}`);
        return { ...trip, ...tripSaga.track(await tripEvents(db, tripId)) };
      });
    },
  };
}

/**
 * One handler per event the map says the tracker consumes: each records its event once (by
 * id), and the event that ends the trip disarms its deadline in the same transaction. An event
 * of a trip never requested here is a bug: dead-lettered. No lock is needed: the trip's state
 * is the verdict on the set of its events, whatever order they are recorded in.
 */
function outcomeHandlers(deadlines: SagaDeadlines): Record<string, HandlerDefinition> {
  return Object.fromEntries(
    tripSaga.consumedBy('trip').map((type) => [
      type,
      on(tripSaga.event(type)!.schema, async (message, { tx }) => {
        // Checked against the event's schema: every event of the saga carries its key.
        const { tripId } = message.data as { readonly tripId: string };
        if (!(await findTrip(tx, tripId))) throw new TerminalError(`unknown trip ${tripId}`);
        if (!(await recordTripEvent(tx, tripId, message))) return;
        if ((await verdictOn(tx, tripId)).final) await deadlines.disarm(tx, tripId);
      }),
    ]),
  );
}

/**
 * A trip's deadline passed (called in the firing transaction): a trip still open records
 * `trip_timed_out`, naming the step it was waiting on, and returns it to be emitted. An
 * outcome recorded at the same moment is late: the verdict stays failed, the steps undo it.
 */
async function expireTrip(tx: Transaction, event: Message): Promise<Message | undefined> {
  const data = event.data as { readonly tripId: string };
  const verdict = await verdictOn(tx, data.tripId);
  if (verdict.final) return undefined;
  const waitingOn = verdict.steps.find((step) => step.state === 'pending')?.name;
  const expired = { ...event, data: { ...data, ...(waitingOn ? { step: waitingOn } : {}) } };
  await recordTripEvent(tx, data.tripId, expired);
  return expired;
}

async function verdictOn(tx: Transaction, tripId: string): Promise<SagaVerdict> {
  return tripSaga.verdict((await tripEvents(tx, tripId)).map((event) => event.type));
}
