export type { PostgresBroker, PostgresBrokerOptions, PruneOptions } from './postgres-broker.ts';
export { createPostgresBroker } from './postgres-broker.ts';
export { BrokerClosedError } from './subscription.ts';
