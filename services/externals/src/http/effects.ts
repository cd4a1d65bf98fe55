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
export const reserveCart: CallEffect<ReserveRestaurantRequest> = async (tx, body, status, at) => {
  const quote = quoteReservation(body.restaurantId, body.cart);
  if ('reason' in quote) return failureAnswer(422, quote.reason);
  const reservationId = randomUUID();
  await insertReservation(
    tx,
    {
      reservationId,
      orderId: body.orderId,
      userId: body.userId,
      restaurantId: body.restaurantId,
      cart: body.cart,
      priceCents: quote.priceCents,
    },
    at,
  );
  const response: ReserveRestaurantResponse = {
    reservationId,
    priceCents: quote.priceCents,
    restaurantPhone: quote.restaurantPhone,
    restaurantAddress: quote.restaurantAddress,
  };
  return jsonAnswer(status, response);
};

export const releaseReservation: CallEffect<ReleaseRequest> = async (tx, body, status, at) => {
  await releaseReservations(tx, body, at);
  return emptyAnswer(status);
};

export const assignRider: CallEffect<AssignRiderRequest> = async (tx, body, status, at) => {
  const response: AssignRiderResponse = { riderId: randomUUID(), ...riderFor(body.orderId) };
  await insertAssignment(tx, { ...response, orderId: body.orderId, userId: body.userId }, at);
  return jsonAnswer(status, response);
};

export const unassignRider: CallEffect<ReleaseRequest> = async (tx, body, status, at) => {
  await releaseAssignments(tx, body, at);
  return emptyAnswer(status);
};

export const charge: CallEffect<ChargeRequest> = async (tx, body, status, at) => {
  const response: ChargeResponse = { receiptId: randomUUID(), amountCents: body.amountCents };
  await insertCharge(tx, { ...body, receiptId: response.receiptId }, at);
  return jsonAnswer(status, response);
};

export const refund: CallEffect<ReleaseRequest> = async (tx, body, status, at) => {
  await refundCharges(tx, body, at);
  return emptyAnswer(status);
};
