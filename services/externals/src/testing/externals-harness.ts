import { randomUUID } from 'node:crypto';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { createService, type Service } from '@cads/service';
import { openPglite } from '@cads/storage-pglite';
import { testCredentials, testInternalSecret } from '@cads/testing';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { externalsService } from '../app.ts';

export const adminToken = 'test-admin-token';
export const admin = { authorization: `Bearer ${adminToken}` };

type Method = 'GET' | 'POST' | 'DELETE';

/** The service calling the external systems in these tests. */
const caller = testCredentials('restaurant');

/** The headers of a call by a service of the deployment: its service token. */
export async function callerHeaders(): Promise<{ authorization: string }> {
  return { authorization: await caller.authorization('externals') };
}

/** One externals service on in-memory PGlite, with helpers for its HTTP surface. */
export interface ExternalsHarness {
  readonly service: Service;
  /** What the service's `random()` returns; 0 unless a test sets it. */
  random: number;
  /** Another instance on the same database, as a second process would be. */
  anotherInstance(): Promise<Service>;
  request(
    method: Method,
    url: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  /** A POST or DELETE of an external system with an idempotency key (a new one by default). */
  call(
    method: 'POST' | 'DELETE',
    system: string,
    body: unknown,
    key?: string,
  ): Promise<LightMyRequestResponse>;
  configure(scope: string | undefined, patch: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Fresh ids for one test's order, so tests never share config scopes or records. */
export function newOrder(): { orderId: string; userId: string } {
  return { orderId: `o-${randomUUID()}`, userId: `u-${randomUUID()}` };
}

export const zeroDelays = {
  restaurant: { post: { delay: 0, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } },
  rider: { post: { delay: 0, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } },
  payment: { post: { delay: 0, randomDelay: 0 }, delete: { delay: 0, randomDelay: 0 } },
};

/** Starts the service and sets the global delays to zero, as `npm start` does. */
export async function startExternals(): Promise<ExternalsHarness> {
  const host = await openPglite();
  const db = await host.database('externals');
  const broker = await createPostgresBroker({ db: await host.database('cads_broker') });
  const logger = pino({ level: 'silent' });
  const services: Service[] = [];
  const build = async () => {
    const definition = externalsService({
      adminToken,
      internalSecret: testInternalSecret,
      random: () => harness.random,
    });
    const built = await createService(definition, { db, broker, logger });
    await built.start();
    services.push(built);
    return built;
  };
  const service = await build();
  const harness: ExternalsHarness = {
    service,
    random: 0,
    anotherInstance: build,
    request: (method, url, options = {}) =>
      service.app.inject({
        method,
        url,
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.body === undefined ? {} : { payload: options.body as object }),
      }),
    call: async (method, system, body, key = randomUUID()) =>
      harness.request(method, `/api/${system}`, {
        body,
        headers: {
          'idempotency-key': key,
          authorization: await caller.authorization('externals'),
        },
      }),
    configure: (scope, patch) =>
      harness.request(
        'POST',
        scope === undefined ? '/api/config' : `/api/config?scope=${encodeURIComponent(scope)}`,
        { body: patch, headers: admin },
      ),
    async close() {
      for (const running of services) await running.stop();
      await broker.close();
      await host.close();
    },
  };
  const configured = await harness.configure(undefined, zeroDelays);
  if (configured.statusCode !== 202) throw new Error(`could not configure: ${configured.body}`);
  return harness;
}
