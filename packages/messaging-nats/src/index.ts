export type { NatsBroker, NatsBrokerOptions } from './nats-broker.ts';
export { createNatsBroker } from './nats-broker.ts';
export { consumerNameFor, subjectFor } from './names.ts';
