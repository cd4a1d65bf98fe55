export type { NatsBroker, NatsBrokerOptions } from './nats-broker.ts';
export { createNatsBroker } from './nats-broker.ts';
export type { NatsBrokerLogger } from './logger.ts';
export { consumerNameFor, subjectFor } from './names.ts';
