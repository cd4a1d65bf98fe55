import { randomUUID } from 'node:crypto';
import type { SagaStatus } from '@cads/saga';
import {
  externalEndpoint,
  installSagaStepTables,
  sagaStep,
  type ServiceDefinition,
} from '@cads/service';
import {
  checkSagaProperties,
  type ExternalEffect,
  type PropertySystem,
  type SagaFixture,
  type StepOutcomes,
} from '@cads/testing/sagas';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { bookingService } from './booking-service.ts';
import { carStep, flightStep, hotelStep } from './contracts/steps.ts';
import { refusals, suppliersService } from './suppliers.ts';
import { tripSaga } from './trip-saga.ts';
import { tripService } from './trip-service.ts';

/** Where each supplier refuses (the mock refuses by destination); elsewhere all book. */
const refusedAt = Object.fromEntries(
  Object.entries(refusals).map(([supplier, destinations]) => [
    supplier,
    Object.keys(destinations)[0]!,
  ]),
);

/**
 * The trip saga's services on the kit: the suppliers' mock, the three booking steps and the
 * trip service (the tracker, on the kit's clock). A scenario's answers become the destination:
 * the first step that refuses picks where the trip goes.
 */
async function openTripSystem(
  system: PropertySystem,
  hotel: (baseUrl: string) => ServiceDefinition = (baseUrl) =>
    bookingService(hotelStep, { baseUrl }),
): Promise<SagaFixture> {
  const suppliers = await system.run(suppliersService(), { listen: true });
  await system.run(bookingService(flightStep, { baseUrl: suppliers.url! }));
  await system.run(hotel(suppliers.url!));
  await system.run(bookingService(carStep, { baseUrl: suppliers.url! }));
  const { service: trip } = await system.run(
    tripService({ now: system.now, pollMs: system.pollMs }),
  );
  return {
    async start(outcomes: StepOutcomes) {
      const refusing = tripSaga.steps.find((step) => outcomes[step.name] === 'refuse');
      const response = await trip.app.inject({
        method: 'POST',
        url: '/api/trips',
        payload: {
          traveller: 'Ada',
          destination: refusing ? refusedAt[refusing.name] : 'Lisbon',
        },
      });
      expect(response.statusCode).toBe(202);
      return response.json<{ tripId: string }>().tripId;
    },
    async status(tripId) {
      const response = await trip.app.inject({ method: 'GET', url: `/api/trips/${tripId}` });
      return response.json<{ status: SagaStatus }>().status;
    },
    async effects(tripId) {
      const response = await suppliers.service.app.inject({
        method: 'GET',
        url: `/api/effects/${tripId}`,
      });
      return response
        .json<{ supplier: string; action: 'book' | 'cancel' }[]>()
        .map(({ supplier, action }): ExternalEffect => ({
          step: supplier,
          action: action === 'book' ? 'do' : 'undo',
        }));
    },
  };
}

describe('the trip saga’s properties, over generated scenarios', () => {
  it('every trip ends as its suppliers answered, each booking made once and released when the trip fails', async () => {
    const coverage = await checkSagaProperties({ map: tripSaga, open: openTripSystem });
    // The scenarios explored what they should: every fault, and every ending.
    expect(coverage.scenarios).toBeGreaterThanOrEqual(25);
    expect(Object.values(coverage.faults).every((times) => times > 0)).toBe(true);
    expect(Object.values(coverage.endings).every((times) => times > 0)).toBe(true);
  }, 300_000);
});

/**
 * A hotel step with a broken compensation, as a newcomer might write it: `release` either
 * never reaches the supplier, or mints a new idempotency key on every call.
 */
function brokenHotel(release: 'forgotten' | 'key-per-call') {
  return (baseUrl: string): ServiceDefinition => {
    const bookings = externalEndpoint({ baseUrl }, '/api/hotel/bookings', 'hotel supplier');
    return {
      name: 'hotel',
      runtimeTables: [installSagaStepTables],
      consumer: {
        handlers: sagaStep(tripSaga, hotelStep, {
          answer: Booking,
          call: ({ tripId, destination }) =>
            bookings('POST', `${tripId}:hotel:book`, { tripId, destination }),
          release: ({ tripId }) =>
            release === 'forgotten'
              ? Promise.resolve({ ok: true, status: 204, body: undefined })
              : bookings('DELETE', `${tripId}:hotel:cancel:${randomUUID()}`, { tripId }),
          succeeded: ({ tripId, destination }, { reference }) => ({
            tripId,
            destination,
            reference,
          }),
          failed: ({ tripId }, reason) => ({ tripId, reason }),
          compensated: ({ sagaId }) => ({ tripId: sagaId }),
        }),
      },
    };
  };
}

const Booking = Type.Object({ reference: Type.String({ minLength: 1 }) });

describe('the properties catch a broken compensation', () => {
  it('a release that never reaches the supplier: the hotel stays booked for a failed trip', async () => {
    const checked = checkSagaProperties({
      map: tripSaga,
      open: (system) => openTripSystem(system, brokenHotel('forgotten')),
      seed: 1,
    });
    await expect(checked).rejects.toThrow(
      /hotel's external effect is still held after the saga failed[\s\S]*Replay it: CADS_PROPERTY_SEED=1 CADS_PROPERTY_PATH=\S+/,
    );
  }, 300_000);

  it('a release with a new idempotency key per call: a crash or a lost ack cancels twice', async () => {
    const checked = checkSagaProperties({
      map: tripSaga,
      open: (system) => openTripSystem(system, brokenHotel('key-per-call')),
      seed: 1,
      runs: 100,
    });
    await expect(checked).rejects.toThrow(
      /hotel's external effect was undone 2 times[\s\S]*hotel_booked[\s\S]*\[(crash|ack-lost)\]/,
    );
  }, 300_000);
});
