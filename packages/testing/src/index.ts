export type { TestDatabase } from './servers.ts';
export {
  chromiumPath,
  chromiumSkipReason,
  createNamedTestDatabase,
  createTestDatabase,
  natsSkipReason,
  natsUrl,
  postgresSkipReason,
  postgresUrl,
  uniqueName,
} from './servers.ts';
export { testCredentials, testInternalSecret } from './service-tokens.ts';
