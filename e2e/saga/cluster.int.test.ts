import { randomUUID } from 'node:crypto';
import { clusterPortSpan, startCluster, type RunningCluster } from '@cads/cli/cluster';
import { serviceNames, type ServiceName } from '@cads/cli/system';
import { waitFor } from '@cads/messaging/testing';
import { createNatsBroker } from '@cads/messaging-nats';
import type { Database } from '@cads/storage';
import { openPostgresDatabase } from '@cads/storage-postgres';
import { natsSkipReason, natsUrl, postgresSkipReason, postgresUrl } from '@cads/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { freePortRange } from './free-ports.ts';
import { noDelays, sagaClient } from './saga-client.ts';
import { adminToken, internalSecret } from './system-harness.ts';

const skip = (await postgresSkipReason()) ?? (await natsSkipReason());

describe.skipIf(skip !== undefined)(
  `the saga in cluster mode: one process per service on PostgreSQL and JetStream${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    const tag = `t${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    let cluster: RunningCluster;
    const databases = {} as Record<ServiceName, Database>;

    beforeAll(async () => {
      cluster = await startCluster({
        postgresUrl,
        natsUrl,
        adminToken,
        internalSecret,
        host: '127.0.0.1',
        basePort: await freePortRange(clusterPortSpan),
        logger: pino({ level: 'silent' }),
        logLevel: process.env.CADS_TEST_LOG_LEVEL ?? 'fatal',
        databasePrefix: tag,
        natsStream: tag.toUpperCase(),
        natsSubjectPrefix: tag,
      });
      for (const name of serviceNames) {
        await waitFor(
          `${name} to be ready`,
          async () => (await fetch(`${cluster.urls[name]}/ready`).catch(() => undefined))?.ok,
          { timeoutMs: 60_000, intervalMs: 200 },
        );
        const url = new URL(postgresUrl);
        url.pathname = `/${tag}_${name}`;
        databases[name] = await openPostgresDatabase({ connectionString: url.toString() });
      }
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
      for (const db of Object.values(databases)) await db.close();
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      for (const name of serviceNames)
        await admin.query(`drop database if exists "${tag}_${name}" with (force)`);
      await admin.end();
      const broker = await createNatsBroker({
        servers: natsUrl,
        stream: tag.toUpperCase(),
        subjectPrefix: tag,
      });
      await broker.deleteStream();
      await broker.close();
    });

    it('200 concurrent orders with mixed outcomes all reach their final states', async () => {
      const client = sagaClient({ urls: cluster.urls, databases });
      await client.configure(noDelays);
      const outcomes = [
        { config: {}, states: [0, 0, 0, 2] },
        { config: { restaurant: { post: { response: 503 } } }, states: [4, -1, -1, 5] },
        { config: { rider: { post: { response: 404 } } }, states: [5, 4, -1, 5] },
        { config: { payment: { post: { response: 402 } } }, states: [5, 5, 4, 5] },
      ];
      const users = outcomes.map((outcome) => ({
        ...outcome,
        userId: `c-${randomUUID().slice(0, 8)}`,
      }));
      for (const user of users) await client.configure(user.config, `user:${user.userId}`);
      const placed = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const user = users[i % users.length]!;
          const response = await client.placeOrder(user.userId);
          const { orderId } = (await response.json()) as { orderId: string };
          return { orderId, states: user.states };
        }),
      );
      for (const { orderId, states } of placed) await client.settles(orderId, states, 90_000);
    }, 180_000);
  },
);
