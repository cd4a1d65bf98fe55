export type { DatabaseContractHarness } from './database-contract.ts';
export { describeDatabaseContract } from './database-contract.ts';
