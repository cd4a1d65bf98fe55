import { startSystem, type RunningSystem } from '@cads/cli/system';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { openPglite } from '@cads/storage-pglite';
import pino from 'pino';
import { adminToken, internalSecret, sessionSecret } from '../saga/system-harness.ts';
import { type KitchenLog, kitchenSaga, kitchenService } from './kitchen.ts';

export interface KitchenSystem {
  readonly system: RunningSystem;
  readonly log: KitchenLog;
  dispose(): Promise<void>;
}

/**
 * The whole system, embedded (PGlite + the Postgres log), running the food saga with the
 * kitchen step: the map and the kitchen's service are the only inputs that differ.
 */
export async function startKitchenSystem(
  options: { readonly webRoot?: string } = {},
): Promise<KitchenSystem> {
  const log: KitchenLog = { booked: [], released: [] };
  const host = await openPglite();
  const broker = await createPostgresBroker({
    db: await host.database('cads_broker'),
    pollIntervalMs: 100,
  });
  const system = await startSystem({
    databaseFor: (service) => host.database(service),
    broker,
    logger: pino({ level: process.env.CADS_TEST_LOG_LEVEL ?? 'silent' }),
    adminToken,
    sessionSecret,
    internalSecret,
    saga: kitchenSaga,
    added: [{ name: 'kitchen', define: ({ saga }) => kitchenService(saga ?? kitchenSaga, log) }],
    ...(options.webRoot ? { webRoot: options.webRoot } : {}),
  });
  return {
    system,
    log,
    async dispose() {
      await system.stop();
      await broker.close();
      await host.close();
    },
  };
}
