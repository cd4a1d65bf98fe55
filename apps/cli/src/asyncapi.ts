import { foodSaga } from '@cads/food-saga';
import { MessageSchema } from '@cads/messaging';
import { orderEvents } from '@cads/order/contracts';
import { paymentEvents } from '@cads/payment/contracts';
import { restaurantEvents } from '@cads/restaurant/contracts';
import { riderEvents } from '@cads/rider/contracts';
import type { SagaEvent, SagaMap } from '@cads/saga';
import { definitionOf, documentationSettings, serviceNames, type ServiceName } from './system.ts';

/**
 * Every event each service's contract lists. The saga map describes the saga's events; this
 * list only adds the events no saga has (none at present), so they are documented too.
 */
const contractEvents: Readonly<Partial<Record<ServiceName, Readonly<Record<string, unknown>>>>> = {
  order: orderEvents,
  restaurant: restaurantEvents,
  rider: riderEvents,
  payment: paymentEvents,
};

/**
 * Which events each service handles: read from the handlers of its definition. Besides the
 * saga's consumers this finds the services that watch the saga from outside (the bff decides
 * a notification on each final event).
 */
function handledBy(): Map<string, ServiceName[]> {
  const consumers = new Map<string, ServiceName[]>();
  for (const name of serviceNames) {
    const definition = definitionOf(name, documentationSettings);
    for (const type of Object.keys(definition.consumer?.handlers ?? {})) {
      consumers.set(type, [...(consumers.get(type) ?? []), name]);
    }
  }
  return consumers;
}

/** One documented event: its schema, who sends it, who receives it, and its place in a saga. */
interface DocumentedEvent {
  readonly type: string;
  readonly schema: unknown;
  readonly producer: string;
  readonly consumers: readonly string[];
  readonly saga?: { readonly map: SagaMap; readonly event: SagaEvent };
}

/** The saga's events from its map, then any contract event no saga has. */
function documentedEvents(map: SagaMap): DocumentedEvent[] {
  const handlers = handledBy();
  const events: DocumentedEvent[] = map.events.map((event) => ({
    type: event.type,
    schema: event.schema,
    producer: event.producer,
    // The map's consumers first, then whoever else handles the event.
    consumers: [
      ...event.consumers,
      ...(handlers.get(event.type) ?? []).filter((name) => !event.consumers.includes(name)),
    ],
    saga: { map, event },
  }));
  for (const [producer, declared] of Object.entries(contractEvents)) {
    for (const [type, schema] of Object.entries(declared ?? {})) {
      if (map.event(type)) continue;
      events.push({ type, schema, producer, consumers: handlers.get(type) ?? [] });
    }
  }
  return events;
}

/** What the event means in its saga, in a sentence. */
function describeInSaga(map: SagaMap, event: SagaEvent): string {
  const step = event.step === undefined ? undefined : map.step(event.step);
  const next = step && map.steps[step.index + 1];
  switch (event.role) {
    case 'start':
      return `Starts the ${map.name} saga; ${event.producer} tracks it.`;
    case 'success':
      return (
        `The ${event.step} step succeeded` +
        (next ? `: triggers the ${next.name} step.` : `: completes the ${map.name} saga.`)
      );
    case 'failure': {
      const undoing = map.compensating(event.step ?? '').map((earlier) => earlier.name);
      return (
        `The ${event.step} step refused (why in \`${step?.failure.reasonField ?? ''}\`): ` +
        `ends the ${map.name} saga as failed` +
        (undoing.length === 0
          ? '.'
          : undoing.length === 1
            ? `; ${undoing[0]!} undoes its success.`
            : `; ${undoing.join(' and ')} undo theirs.`)
      );
    }
    case 'compensation':
      return `The ${event.step} step undid its success after a later step failed or the saga's deadline passed.`;
    case 'expiry':
      return (
        `The ${map.name} saga had no final event ${String(map.deadline?.afterMs ?? 0)} ms after it started: ` +
        `${event.producer} fails it as timed out (why in \`${map.deadline?.expired.reasonField ?? ''}\`), ` +
        `and ${event.consumers.join(', ')} undo whatever they did, now or when they get to it.`
      );
  }
}

/**
 * The AsyncAPI 3.0 document of the saga, generated from the saga map (each event's schema,
 * producer, consumers and role) and the services' handlers, so it cannot drift from the code
 * (a test compares it with docs/asyncapi.json).
 */
export function buildAsyncApi(version: string, map: SagaMap = foodSaga): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const { type, schema, producer, consumers, saga } of documentedEvents(map)) {
    messages[type] = {
      name: type,
      title: type,
      contentType: 'application/cloudevents+json',
      summary: `Emitted by ${producer}; consumed by ${consumers.join(', ') || 'nobody yet'}.`,
      ...(saga
        ? {
            description: describeInSaga(saga.map, saga.event),
            'x-cads-saga': {
              saga: saga.map.name,
              role: saga.event.role,
              ...(saga.event.step === undefined ? {} : { step: saga.event.step }),
            },
          }
        : {}),
      correlationId: { location: '$message.payload#/correlationid' },
      payload: {
        allOf: [envelope, { type: 'object', properties: { type: { const: type }, data: schema } }],
      },
    };
    channels[type] = {
      address: type,
      messages: { [type]: { $ref: `#/components/messages/${type}` } },
    };
    operations[`${producer}.send.${type}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${type}` },
      summary: `${producer} emits ${type} through its outbox.`,
    };
    for (const consumer of consumers) {
      operations[`${consumer}.receive.${type}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${type}` },
        summary: `${consumer} handles ${type} effectively once (inbox, one transaction).`,
      };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: `CADS ${map.name} saga`,
      version,
      description:
        `Events of the choreographed ${map.label.toLowerCase()} saga.` +
        (map.description ? ` ${map.description}` : '') +
        ' Every event is a CloudEvents 1.0 envelope (structured JSON): ' +
        `\`subject\` is the saga's key (\`${map.key}\`), \`correlationid\` is "{userId}-{orderId}", ` +
        '`traceparent` carries W3C trace context. `x-cads-saga` gives each message its role in ' +
        'the saga (start, success, failure, compensation) and its step.',
    },
    defaultContentType: 'application/cloudevents+json',
    channels,
    operations,
    components: { messages },
  };
}

const envelope = JSON.parse(JSON.stringify(MessageSchema)) as Record<string, unknown>;
