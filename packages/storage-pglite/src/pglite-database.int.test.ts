import { describeDatabaseContract } from '@cads/storage/testing';
import { openPglite } from './pglite-database.ts';

describeDatabaseContract('PGlite (in memory)', async () => {
  const host = await openPglite();
  return { open: (schema) => host.database(schema), dispose: () => host.close() };
});
