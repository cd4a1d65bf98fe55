import { defineStep } from '@cads/saga';
import { Booked, Refused, Released, TripLeg } from './events.ts';

// Each supplier books, refuses and releases alike: the three steps share their schemas.

export const flightStep = defineStep({
  name: 'flight',
  label: 'Flight',
  description: 'Books a seat to the destination.',
  input: TripLeg,
  success: { type: 'flight_booked', schema: Booked },
  failure: { type: 'flight_refused', schema: Refused, reasonField: 'reason' },
  compensation: { type: 'flight_released', schema: Released },
  shows: [{ field: 'reference', label: 'Flight' }],
});

export const hotelStep = defineStep({
  name: 'hotel',
  label: 'Hotel',
  description: 'Books a room at the destination.',
  input: TripLeg,
  success: { type: 'hotel_booked', schema: Booked },
  failure: { type: 'hotel_refused', schema: Refused, reasonField: 'reason' },
  compensation: { type: 'hotel_released', schema: Released },
  shows: [{ field: 'reference', label: 'Hotel' }],
});

export const carStep = defineStep({
  name: 'car',
  label: 'Car',
  description: 'Rents a car at the destination.',
  input: TripLeg,
  success: { type: 'car_booked', schema: Booked },
  failure: { type: 'car_refused', schema: Refused, reasonField: 'reason' },
  compensation: { type: 'car_released', schema: Released },
  shows: [{ field: 'reference', label: 'Car' }],
});

/** Any step of the trip saga: they have one shape, so one service runs each. */
export type BookingStep = typeof flightStep | typeof hotelStep | typeof carStep;
