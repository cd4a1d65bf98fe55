export type { TestDatabase } from './servers.ts';
export {
  createTestDatabase,
  natsSkipReason,
  natsUrl,
  postgresSkipReason,
  postgresUrl,
  uniqueName,
} from './servers.ts';
