import Type from 'typebox';

/** The saga's key: a trip's id, minted by the trip service. */
export const TripId = Type.String({ minLength: 1, maxLength: 100 });
const Text = Type.String({ minLength: 1, maxLength: 200 });

/** `trip_requested`: the trip service starts a trip's saga. */
export const TripRequested = Type.Object({ tripId: TripId, traveller: Text, destination: Text });

/** What each booking step needs of the event before it. */
export const TripLeg = Type.Object({ tripId: TripId, destination: Text });

/** A supplier booked its part; it carries the destination on, for the next step. */
export const Booked = Type.Object({ tripId: TripId, destination: Text, reference: Text });

/** A supplier refused; `reason` is the supplier's own words. */
export const Refused = Type.Object({ tripId: TripId, reason: Text });

/** A booking was cancelled at its supplier, because the trip failed after it. */
export const Released = Type.Object({ tripId: TripId });

/** The trip had not ended by its deadline; `step` is the step it was waiting on. */
export const TripTimedOut = Type.Object({
  tripId: TripId,
  reason: Text,
  step: Type.Optional(Text),
});
