import { randomUUID } from 'node:crypto';
import type {
  AssignRiderRequest,
  AssignRiderResponse,
  ChargeRequest,
  ChargeResponse,
  ReleaseRequest,
  ReserveRestaurantRequest,
  ReserveRestaurantResponse,
} from '../contracts/api.ts';
import { quoteReservation } from '../domain/cart.ts';
import { riderFor } from '../domain/rider.ts';
import { insertAssignment, releaseAssignments } from '../store/assignments-store.ts';
import { insertCharge, refundCharges } from '../store/ledger-store.ts';
import { insertReservation, releaseReservations } from '../store/reservations-store.ts';
import { type CallEffect, emptyAnswer, failureAnswer, jsonAnswer } from './answer-call.ts';

/** The restaurant reserves the cart at the catalogue price, or refuses it with 422. */
export const reserveCart: CallEffect<ReserveRestaurantRequest> = (body, status, at) => {
  const quote = quoteReservation(body.restaurantId, body.cart);
  if ('reason' in quote) return { answer: failureAnswer(422, quote.reason) };
  const response: ReserveRestaurantResponse = {
    reservationId: randomUUID(),
    priceCents: quote.priceCents,
    restaurantPhone: quote.restaurantPhone,
    restaurantAddress: quote.restaurantAddress,
  };
  const { orderId, userId, restaurantId, cart } = body;
  const { reservationId, priceCents } = response;
  return {
    answer: jsonAnswer(status, response),
    write: insertReservation(
      { reservationId, orderId, userId, restaurantId, cart, priceCents },
      at,
    ),
  };
};

export const releaseReservation: CallEffect<ReleaseRequest> = (body, status, at) => ({
  answer: emptyAnswer(status),
  write: releaseReservations(body, at),
});

export const assignRider: CallEffect<AssignRiderRequest> = (body, status, at) => {
  const response: AssignRiderResponse = { riderId: randomUUID(), ...riderFor(body.orderId) };
  return {
    answer: jsonAnswer(status, response),
    write: insertAssignment({ ...response, orderId: body.orderId, userId: body.userId }, at),
  };
};

export const unassignRider: CallEffect<ReleaseRequest> = (body, status, at) => ({
  answer: emptyAnswer(status),
  write: releaseAssignments(body, at),
});

export const charge: CallEffect<ChargeRequest> = (body, status, at) => {
  const response: ChargeResponse = { receiptId: randomUUID(), amountCents: body.amountCents };
  return {
    answer: jsonAnswer(status, response),
    write: insertCharge({ ...body, receiptId: response.receiptId }, at),
  };
};

export const refund: CallEffect<ReleaseRequest> = (body, status, at) => ({
  answer: emptyAnswer(status),
  write: refundCharges(body, at),
});
