import type { ExternalResult } from '@cads/http';
import { externalEndpoint, type ExternalSystemOptions } from '@cads/service';
import { type AssignedOrder, chargeKey, chargeRequest } from './domain/charge.ts';

/** The bank's external system: charges with the order's idempotency key. */
export interface Bank {
  charge(order: AssignedOrder): Promise<ExternalResult>;
}

export function bank(options: ExternalSystemOptions): Bank {
  const endpoint = externalEndpoint(options, '/api/payment', 'bank');
  return { charge: (order) => endpoint('POST', chargeKey(order.orderId), chargeRequest(order)) };
}
