import { PaymentCancelled } from '@cads/payment/contracts';
import type { RestaurantSystem } from '../restaurant-system.ts';
import { releaseReservation } from './release-reservation.ts';

/** `payment_cancelled` → release the reservation → `restaurant_compensated`. */
export const onPaymentCancelled = (system: RestaurantSystem) =>
  releaseReservation(PaymentCancelled, system);
