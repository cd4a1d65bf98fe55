import { foodSaga } from '@cads/food-saga';
import { describe, expect, it } from 'vitest';
import { buildAsyncApi } from './asyncapi.ts';

interface Document {
  readonly channels: Record<string, unknown>;
  readonly operations: Record<string, { readonly action: string }>;
  readonly components: {
    readonly messages: Record<
      string,
      { readonly description?: string; readonly 'x-cads-saga'?: Record<string, string> }
    >;
  };
}

const document = buildAsyncApi('test') as unknown as Document;

describe('the AsyncAPI document', () => {
  it('has a channel and a message per event of the saga map, with its role and step', () => {
    expect(Object.keys(document.channels)).toEqual(foodSaga.events.map((event) => event.type));
    for (const event of foodSaga.events) {
      expect(document.components.messages[event.type]?.['x-cads-saga']).toEqual({
        saga: 'food-delivery',
        role: event.role,
        ...(event.step === undefined ? {} : { step: event.step }),
      });
    }
    expect(document.components.messages.rider_cancelled?.description).toBe(
      'The rider step refused (why in `riderCancellationReason`): ends the food-delivery saga ' +
        'as failed; restaurant undoes its success.',
    );
  });

  it("sends each event from its producer and receives it at the map's consumers", () => {
    for (const event of foodSaga.events) {
      expect(document.operations[`${event.producer}.send.${event.type}`]?.action).toBe('send');
      for (const consumer of event.consumers) {
        expect(document.operations[`${consumer}.receive.${event.type}`]?.action).toBe('receive');
      }
    }
  });

  it('also names the services that watch the saga from outside it', () => {
    for (const { type } of foodSaga.finalEvents) {
      expect(document.operations[`bff.receive.${type}`]?.action).toBe('receive');
    }
  });
});
