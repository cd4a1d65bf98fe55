import { randomUUID } from 'node:crypto';
import { type Broker, createMessage, type Message, parseMessage } from '@cads/messaging';
import { waitFor } from '@cads/messaging/testing';
import { createPostgresBroker } from '@cads/messaging-postgres';
import { type Database, sql } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import { pino } from 'pino';
import { createService, type Service, type ServiceDefinition } from '../service.ts';

/** A started service with its own database, and its URL when it listens. */
export interface RunningService {
  readonly service: Service;
  readonly db: Database;
  readonly url: string;
}

/** Every message of some types published from the moment `record` resolved. */
export interface Recorder {
  readonly messages: readonly Message[];
  /** The recorded messages about one subject. */
  of(subject: string): Message[];
  /** Waits until `subject` has a message of `type`, and returns it. */
  next(subject: string, type: string): Promise<Message>;
}

/**
 * An embedded system for integration tests: one in-memory PGlite (each service in its own
 * schema), the Postgres log broker on it, and services built with `createService` exactly as in
 * production. Nothing is shared with other test files.
 */
export interface Testbed {
  readonly broker: Broker;
  /** Builds, starts and (with `listen`) serves a service on 127.0.0.1 at a free port. */
  start(definition: ServiceDefinition, options?: { listen?: boolean }): Promise<RunningService>;
  /** Publishes one message as if another service emitted it. */
  publish<T>(
    type: string,
    subject: string,
    data: T,
    options?: { id?: string },
  ): Promise<Message<T>>;
  /** Records `types` in a group of its own (it also gets messages published before). */
  record(types: readonly string[]): Promise<Recorder>;
  /** Waits until `running`'s consumer committed `message` (its inbox has it). */
  handled(running: RunningService, message: Message): Promise<void>;
  /** Stops every service, the recorders and the broker, then closes PGlite. */
  close(): Promise<void>;
}

export async function createTestbed(): Promise<Testbed> {
  const host = await openPglite();
  const broker = await createPostgresBroker({
    db: await host.database('cads_broker'),
    pollIntervalMs: 100,
  });
  const stops: Array<() => Promise<void>> = [];
  const logger = pino({ level: 'silent' });
  return {
    broker,
    async start(definition, options = {}) {
      const db = await host.database(definition.name);
      const service = await createService(definition, { db, broker, logger });
      await service.start();
      stops.push(() => service.stop());
      const url = options.listen ? await service.app.listen({ port: 0, host: '127.0.0.1' }) : '';
      return { service, db, url };
    },
    async publish(type, subject, data, options = {}) {
      const message = createMessage({
        type,
        source: '/cads/testbed',
        subject,
        data,
        correlationid: `testbed-${subject}`,
        ...(options.id === undefined ? {} : { id: options.id }),
      });
      await broker.publish([message]);
      return message;
    },
    async record(types) {
      const messages: Message[] = [];
      const handle = await broker.subscribe(
        { group: `recorder-${randomUUID()}`, types, mode: 'competing' },
        async (delivery) => {
          messages.push(parseMessage(delivery.body));
          await delivery.ack();
        },
      );
      stops.push(() => handle.stop());
      const of = (subject: string) => messages.filter((message) => message.subject === subject);
      return {
        messages,
        of,
        next: (subject, type) =>
          waitFor(`${type} for ${subject}`, () =>
            of(subject).find((message) => message.type === type),
          ),
      };
    },
    async handled(running, message) {
      await waitFor(`${running.service.name} to handle ${message.type} ${message.id}`, async () => {
        const { rowCount } = await running.db.query(
          sql`select 1 from cads_inbox where consumer = ${running.service.name} and message_id = ${message.id}`,
        );
        return rowCount > 0;
      });
    },
    async close() {
      for (const stop of stops.splice(0).reverse()) await stop();
      await broker.close();
      await host.close();
    },
  };
}

/** An HTTP JSON client for tests, with an optional bearer token. Returns status and parsed body. */
export function jsonClient(baseUrl: string, token?: string) {
  return async (
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
    };
  };
}
