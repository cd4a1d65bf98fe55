import { Id } from '@cads/order/contracts';
import Type, { type Static } from 'typebox';

export const RiderAssigned = Type.Object({
  orderId: Id,
  userId: Id,
  riderId: Id,
  riderName: Type.String(),
  riderPhone: Type.String(),
  /** The restaurant's price, carried on so payment charges exactly it. */
  priceCents: Type.Integer({ minimum: 0 }),
  status: Type.Literal(0),
});
export type RiderAssigned = Static<typeof RiderAssigned>;

export const RiderCancelled = Type.Object({
  orderId: Id,
  userId: Id,
  riderCancellationReason: Type.String({ minLength: 1 }),
  status: Type.Literal(4),
});
export type RiderCancelled = Static<typeof RiderCancelled>;

export const RiderCompensated = Type.Object({
  orderId: Id,
  userId: Id,
  status: Type.Literal(5),
});
export type RiderCompensated = Static<typeof RiderCompensated>;

export const riderEvents = {
  rider_assigned: RiderAssigned,
  rider_cancelled: RiderCancelled,
  rider_compensated: RiderCompensated,
} as const;
