import type { ExternalResult } from '@cads/http';
import { externalEndpoint, type ExternalSystemOptions } from '@cads/service';
import {
  type AssignedOrder,
  chargeKey,
  chargeRequest,
  type OrderRef,
  refundKey,
  refundRequest,
} from './domain/charge.ts';

/** The bank's external system: charges and refunds, each with its idempotency key. */
export interface Bank {
  charge(order: AssignedOrder): Promise<ExternalResult>;
  refund(order: OrderRef): Promise<ExternalResult>;
}

export function bank(options: ExternalSystemOptions): Bank {
  const endpoint = externalEndpoint(options, '/api/payment', 'bank');
  return {
    charge: (order) => endpoint('POST', chargeKey(order.orderId), chargeRequest(order)),
    refund: (order) => endpoint('DELETE', refundKey(order.orderId), refundRequest(order)),
  };
}
