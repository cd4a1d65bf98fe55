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
