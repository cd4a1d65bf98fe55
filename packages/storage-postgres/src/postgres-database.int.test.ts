import { describeDatabaseContract } from '@cads/storage/testing';
import { createTestDatabase, postgresSkipReason } from '@cads/testing';
import { openPostgresDatabase } from './postgres-database.ts';

describeDatabaseContract(
  'PostgreSQL server',
  async () => {
    const database = await createTestDatabase();
    return {
      open: (schema) => openPostgresDatabase({ connectionString: database.url, schema }),
      dispose: () => database.drop(),
    };
  },
  { skip: await postgresSkipReason() },
);
