import { waitFor } from '@cads/messaging/testing';
import type { SagaProgress } from '@cads/saga';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTripSystem, type TripSystem } from './system.ts';

const logger = pino({ level: 'silent' });

async function requestTrip(system: TripSystem, destination: string): Promise<string> {
  const response = await fetch(`${system.tripUrl}/api/trips`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ traveller: 'Ada', destination }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { tripId: string }).tripId;
}

/** The trip once its saga has settled: final, and every compensation it calls for seen. */
async function settled(system: TripSystem, tripId: string): Promise<SagaProgress> {
  return waitFor(
    `trip ${tripId} settled`,
    async () => {
      const trip = (await (
        await fetch(`${system.tripUrl}/api/trips/${tripId}`)
      ).json()) as SagaProgress;
      return trip.settled && trip;
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
}

/** What each supplier did for the trip, e.g. `flight: book, cancel`. */
async function effects(system: TripSystem, tripId: string): Promise<Record<string, string>> {
  const response = await fetch(`${system.suppliers.url!}/api/effects/${tripId}`);
  const all = (await response.json()) as { supplier: string; action: string }[];
  const bySupplier: Record<string, string[]> = {};
  for (const { supplier, action } of all) (bySupplier[supplier] ??= []).push(action);
  return Object.fromEntries(
    Object.entries(bySupplier).map(([supplier, actions]) => [supplier, actions.join(', ')]),
  );
}

const stateOf = (trip: SagaProgress) =>
  Object.fromEntries(trip.steps.map((step) => [step.name, step.state]));

describe('the trip saga, embedded on PGlite in memory', () => {
  let system: TripSystem;
  beforeAll(async () => {
    system = await startTripSystem({ logger });
  });
  afterAll(() => system?.stop());

  it('books the flight, the hotel and the car: the trip completes, each booked once', async () => {
    const tripId = await requestTrip(system, 'Lisbon');
    const trip = await settled(system, tripId);
    expect(trip.status).toBe('completed');
    expect(trip.shown.map((shown) => shown.label)).toEqual(['Flight', 'Hotel', 'Car']);
    expect(await effects(system, tripId)).toEqual({ flight: 'book', hotel: 'book', car: 'book' });
  });

  it('the hotel refuses: the flight is released, the trip fails with the hotel’s reason', async () => {
    const tripId = await requestTrip(system, 'Atlantis');
    const trip = await settled(system, tripId);
    expect(trip.status).toBe('failed');
    expect(trip.failure).toEqual({
      step: 'hotel',
      type: 'hotel_refused',
      reason: 'no rooms left in Atlantis',
    });
    expect(stateOf(trip)).toEqual({ flight: 'compensated', hotel: 'failed', car: 'pending' });
    expect(await effects(system, tripId)).toEqual({ flight: 'book, cancel' });
  });

  it('the car refuses: the hotel and the flight are released, each once', async () => {
    const tripId = await requestTrip(system, 'Venice');
    const trip = await settled(system, tripId);
    expect(trip.failure).toMatchObject({ step: 'car', reason: 'no cars in Venice' });
    expect(stateOf(trip)).toEqual({ flight: 'compensated', hotel: 'compensated', car: 'failed' });
    expect(await effects(system, tripId)).toEqual({
      flight: 'book, cancel',
      hotel: 'book, cancel',
    });
  });

  it('the flight refuses: nothing is booked', async () => {
    const tripId = await requestTrip(system, 'Moon');
    const trip = await settled(system, tripId);
    expect(trip.failure).toMatchObject({ step: 'flight', reason: 'no flights to the Moon' });
    expect(await effects(system, tripId)).toEqual({});
  });

  it('answers 404 for an unknown trip and 400 for a request without a destination', async () => {
    expect((await fetch(`${system.tripUrl}/api/trips/nope`)).status).toBe(404);
    const response = await fetch(`${system.tripUrl}/api/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ traveller: 'Ada' }),
    });
    expect(response.status).toBe(400);
  });
});

describe('the trip saga’s deadline', () => {
  let system: TripSystem;
  beforeAll(async () => {
    system = await startTripSystem({
      logger,
      // The car answers after the deadline (within one HTTP attempt's 5 s): its late booking
      // must be cancelled too. 3 s leave the flight and the hotel time on a busy machine.
      suppliers: { delayMs: { car: 4_500 } },
      trip: { afterMs: 3_000, pollMs: 50 },
    });
  });
  afterAll(() => system?.stop());

  it('fails a trip still waiting at its deadline and releases every booking, the late one too', async () => {
    const tripId = await requestTrip(system, 'Oslo');
    const trip = await settled(system, tripId);
    expect(trip.status).toBe('failed');
    expect(trip.timedOut).toBe(true);
    expect(trip.failure).toMatchObject({ step: 'car', type: 'trip_timed_out' });
    await waitFor('the late car booking cancelled', async () => {
      const done = await effects(system, tripId);
      return done.car === 'book, cancel' && done;
    });
    expect(await effects(system, tripId)).toEqual({
      flight: 'book, cancel',
      hotel: 'book, cancel',
      car: 'book, cancel',
    });
  }, 60_000);
});
