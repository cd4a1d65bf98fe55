import type { Message } from '@cads/messaging';
import type { TrackedEvent } from '@cads/saga';
import { type Queryable, sql } from '@cads/storage';
import type { Static } from 'typebox';
import type { TripRequested } from './contracts/events.ts';

export type Trip = Static<typeof TripRequested>;

/** Stores a new trip and its start event, the first of its timeline. */
export async function insertTrip(tx: Queryable, trip: Trip, start: Message): Promise<void> {
  await tx.query(
    sql`insert into trips (trip_id, traveller, destination, requested_at)
        values (${trip.tripId}, ${trip.traveller}, ${trip.destination}, ${start.time}::timestamptz)`,
  );
  await recordTripEvent(tx, trip.tripId, start);
}

export async function findTrip(db: Queryable, tripId: string): Promise<Trip | undefined> {
  const { rows } = await db.query<Trip>(
    sql`select trip_id as "tripId", traveller, destination from trips where trip_id = ${tripId}`,
  );
  return rows[0];
}

/** Records one event on the trip's timeline; false when an event with its id was recorded. */
export async function recordTripEvent(tx: Queryable, tripId: string, event: Message) {
  const { rows } = await tx.query(
    sql`insert into trip_events (event_id, trip_id, type, data)
        values (${event.id}, ${tripId}, ${event.type}, ${JSON.stringify(event.data)}::jsonb)
        on conflict (event_id) do nothing returning event_id`,
  );
  return rows.length === 1;
}

/** Every event recorded for the trip, in no particular order: the verdict needs only the set. */
export async function tripEvents(db: Queryable, tripId: string): Promise<TrackedEvent[]> {
  const { rows } = await db.query<TrackedEvent>(
    sql`select type, data from trip_events where trip_id = ${tripId}`,
  );
  return rows;
}
