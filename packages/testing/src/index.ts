export type { TestDatabase } from './servers.ts';
export {
  chromiumPath,
  chromiumSkipReason,
  createTestDatabase,
  natsSkipReason,
  natsUrl,
  postgresSkipReason,
  postgresUrl,
  uniqueName,
} from './servers.ts';
