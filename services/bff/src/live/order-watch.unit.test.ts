import type { OrderView, TimelineEntry } from '@cads/order/contracts';
import { describe, expect, it } from 'vitest';
import type { EncodedLiveMessage } from './encoded-message.ts';
import { LiveHub } from './live-hub.ts';
import { type LiveSink, OrderWatch } from './order-watch.ts';

const event = (id: string, type: string, second: number): TimelineEntry => ({
  id,
  type,
  time: new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString(),
  data: {},
});

const created = event('e1', 'order_created', 1);
const cancelled = event('e2', 'restaurant_cancelled', 2);

const order = (timeline: TimelineEntry[]): OrderView => ({
  orderId: 'o1',
  userId: 'u1',
  restaurantId: '48hbfe4',
  cart: [{ itemId: 'p01', amount: 1 }],
  status: 0,
  statusText: 'created',
  priceCents: 1_000,
  createdAt: created.time,
  compensated: [],
  steps: [],
  shown: [],
  timeline,
});

/** A connection that accepts writes while `open`; what it was sent, and what the watch says it sent. */
function connection() {
  const written: EncodedLiveMessage[] = [];
  const reported: string[] = [];
  const sink: LiveSink & { open: boolean } = {
    open: true,
    send(message) {
      if (!sink.open) return false;
      written.push(message);
      return true;
    },
    close() {
      sink.open = false;
    },
  };
  const onSent = (events: readonly TimelineEntry[]) => {
    reported.push(...events.map((entry) => entry.id));
  };
  return { sink, written, reported, onSent };
}

describe('an order watch reports the events it wrote to its connection', () => {
  it('a live event once written; the state’s events once the state is sent', () => {
    const hub = new LiveHub();
    const live = connection();
    const watch = new OrderWatch('o1', 'u1', live.onSent);
    hub.add(watch);
    watch.begin(live.sink, order([created]), undefined);
    expect(live.reported).toEqual(['e1']);
    hub.publish('o1', cancelled);
    expect(live.reported).toEqual(['e1', 'e2']);
    expect(live.written).toHaveLength(2);
    hub.dispose();
  });

  it('an event held while the state is read: when the state carrying it is sent', () => {
    const hub = new LiveHub();
    const live = connection();
    const watch = new OrderWatch('o1', 'u1', live.onSent);
    hub.add(watch);
    hub.publish('o1', cancelled);
    expect(live.reported).toEqual([]);
    watch.begin(live.sink, order([created]), undefined);
    expect(live.reported).toEqual(['e1', 'e2']);
    hub.dispose();
  });

  it('nothing for a held event of a connection that closed before its state', () => {
    const hub = new LiveHub();
    const live = connection();
    const watch = new OrderWatch('o1', 'u1', live.onSent);
    hub.add(watch);
    hub.publish('o1', cancelled);
    watch.close();
    hub.remove(watch);
    watch.begin(live.sink, order([created]), undefined);
    expect(live.reported).toEqual([]);
    hub.dispose();
  });

  it('nothing the connection refused (closing, closed, too slow)', () => {
    const hub = new LiveHub();
    const live = connection();
    const watch = new OrderWatch('o1', 'u1', live.onSent);
    hub.add(watch);
    watch.begin(live.sink, order([created]), undefined);
    live.sink.open = false;
    hub.publish('o1', cancelled);
    expect(live.reported).toEqual(['e1']);
    hub.dispose();
  });
});
