import { describeBrokerContract } from '@cads/messaging/testing';
import { openPglite } from '@cads/storage-pglite';
import { describeBrokerScenarios } from './broker-scenarios.ts';
import { createPostgresBroker } from './postgres-broker.ts';

describeBrokerContract('Postgres log on PGlite (in memory)', async () => {
  const host = await openPglite();
  const db = await host.database('cads_broker');
  return {
    connect: () => createPostgresBroker({ db }),
    dispose: () => host.close(),
  };
});

describeBrokerScenarios('PGlite (in memory)', async () => {
  const host = await openPglite();
  return {
    open: (schema = 'cads_broker') => host.database(schema),
    dispose: () => host.close(),
  };
});
