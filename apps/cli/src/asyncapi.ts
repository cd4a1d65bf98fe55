import { orderEvents } from '@cads/order/contracts';
import { paymentEvents } from '@cads/payment/contracts';
import { restaurantEvents } from '@cads/restaurant/contracts';
import { riderEvents } from '@cads/rider/contracts';
import { MessageSchema } from '@cads/messaging';
import { definitionOf, documentationSettings, serviceNames, type ServiceName } from './system.ts';

/** Which service emits which events: each service's contract lists them. */
const producers: Readonly<Partial<Record<ServiceName, Readonly<Record<string, unknown>>>>> = {
  order: orderEvents,
  restaurant: restaurantEvents,
  rider: riderEvents,
  payment: paymentEvents,
};

/** Which events each service consumes: read from the handlers of its definition. */
function consumedBy(): Map<string, ServiceName[]> {
  const consumers = new Map<string, ServiceName[]>();
  for (const name of serviceNames) {
    const definition = definitionOf(name, documentationSettings);
    for (const type of Object.keys(definition.consumer?.handlers ?? {})) {
      consumers.set(type, [...(consumers.get(type) ?? []), name]);
    }
  }
  return consumers;
}

/**
 * The AsyncAPI 3.0 document of the saga, generated from the contracts and the services'
 * handlers, so it cannot drift from the code (a test compares it with docs/asyncapi.json).
 */
export function buildAsyncApi(version: string): Record<string, unknown> {
  const consumers = consumedBy();
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const [producer, events] of Object.entries(producers)) {
    for (const [type, schema] of Object.entries(events ?? {})) {
      messages[type] = {
        name: type,
        title: type,
        contentType: 'application/cloudevents+json',
        summary: `Emitted by ${producer}; consumed by ${(consumers.get(type) ?? []).join(', ') || 'nobody yet'}.`,
        correlationId: { location: '$message.payload#/correlationid' },
        payload: {
          allOf: [
            envelope,
            { type: 'object', properties: { type: { const: type }, data: schema } },
          ],
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
      for (const consumer of consumers.get(type) ?? []) {
        operations[`${consumer}.receive.${type}`] = {
          action: 'receive',
          channel: { $ref: `#/channels/${type}` },
          summary: `${consumer} handles ${type} effectively once (inbox, one transaction).`,
        };
      }
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'CADS food-delivery saga',
      version,
      description:
        'Events of the choreographed ordering saga. Every event is a CloudEvents 1.0 envelope (structured JSON): ' +
        '`subject` is the order id, `correlationid` is "{userId}-{orderId}", `traceparent` carries W3C trace context.',
    },
    defaultContentType: 'application/cloudevents+json',
    channels,
    operations,
    components: { messages },
  };
}

const envelope = JSON.parse(JSON.stringify(MessageSchema)) as Record<string, unknown>;
