import type { ExternalResult } from '@cads/http';
import { externalEndpoint, type ExternalSystemOptions } from '@cads/service';
import { assignKey, assignmentRequest, type OrderRef, releaseKey } from './domain/assignment.ts';

/** The riders' external system: assign and release, each with its idempotency key. */
export interface RiderSystem {
  assign(order: OrderRef): Promise<ExternalResult>;
  release(order: OrderRef): Promise<ExternalResult>;
}

export function riderSystem(options: ExternalSystemOptions): RiderSystem {
  const endpoint = externalEndpoint(options, '/api/rider', 'rider system');
  return {
    assign: (order) => endpoint('POST', assignKey(order.orderId), assignmentRequest(order)),
    release: (order) => endpoint('DELETE', releaseKey(order.orderId), assignmentRequest(order)),
  };
}
