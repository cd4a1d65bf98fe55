import { defineSaga } from '@cads/saga';
import { TripRequested, TripTimedOut } from './contracts/events.ts';
import { carStep, flightStep, hotelStep } from './contracts/steps.ts';

/**
 * The trip saga, declared once: the trip service starts it with `trip_requested` and tracks
 * it; the flight, the hotel and the car are booked in turn, each on the success of the one
 * before. A refusal releases what was booked before it. A trip with no final event 5 minutes
 * after it was requested fails with `trip_timed_out`, and every booking made is released.
 */
export const tripSagaDeclaration = {
  name: 'trip-booking',
  label: 'Trip booking',
  description: 'A trip books a flight, then a hotel, then a car.',
  key: 'tripId',
  start: { type: 'trip_requested', schema: TripRequested, producer: 'trip', label: 'Trip' },
  steps: [flightStep, hotelStep, carStep],
  deadline: {
    afterMs: 300_000,
    expired: { type: 'trip_timed_out', schema: TripTimedOut, reasonField: 'reason' },
    waitingOnField: 'step',
  },
} as const;

export const tripSaga = defineSaga(tripSagaDeclaration);
