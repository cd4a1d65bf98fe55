export type { BrokerContractHarness, BrokerContractOptions } from './broker-contract.ts';
export { describeBrokerContract } from './broker-contract.ts';
export { sleep, waitFor } from './wait-for.ts';
