import type { ExternalResult } from '@cads/http';
import { externalEndpoint, type ExternalSystemOptions } from '@cads/service';
import {
  type Order,
  type OrderRef,
  releaseKey,
  reservationRequest,
  reserveKey,
} from './domain/reservation.ts';

/** The restaurants' external system: reserve and release, each with its idempotency key. */
export interface RestaurantSystem {
  reserve(order: Order): Promise<ExternalResult>;
  release(order: OrderRef): Promise<ExternalResult>;
}

export function restaurantSystem(options: ExternalSystemOptions): RestaurantSystem {
  const endpoint = externalEndpoint(options, '/api/restaurant', 'restaurant system');
  return {
    reserve: (order) => endpoint('POST', reserveKey(order.orderId), reservationRequest(order)),
    release: ({ orderId, userId }) => endpoint('DELETE', releaseKey(orderId), { orderId, userId }),
  };
}
