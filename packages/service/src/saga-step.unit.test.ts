import { type Emit, RetryableError, TerminalError, UnavailableError } from '@cads/consumer';
import type { ExternalResult } from '@cads/http';
import { createMessage, type Message, silentLogger } from '@cads/messaging';
import type { Queryable } from '@cads/storage';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { compensationStep, forwardStep, type OrderRef } from './saga-step.ts';
import type { NewStepRecord, StepStore } from './step-store.ts';

const Ref = Type.Object({ orderId: Type.String(), userId: Type.String() });
const Answer = Type.Object({ id: Type.String() });
const events = {
  done: Type.Object({ orderId: Type.String(), id: Type.String() }),
  refused: Type.Object({ orderId: Type.String(), reason: Type.String({ minLength: 1 }) }),
  undone: Type.Object({ orderId: Type.String() }),
};
const order: OrderRef = { orderId: 'o1', userId: 'u1' };
const db = {} as Queryable;

/** The step's records in memory, with a hook to simulate another instance writing meanwhile. */
function memoryStore() {
  const records = new Map<string, NewStepRecord>();
  const store: StepStore = {
    table: 'memory',
    find: (_db, orderId) => {
      const record = records.get(orderId);
      return Promise.resolve(
        record && {
          status: record.status,
          compensatedBeforeForward: record.compensatedBeforeForward ?? false,
        },
      );
    },
    status: (_db, orderId) => Promise.resolve(records.get(orderId)?.status ?? -1),
    insert: (_db, record) => {
      if (records.has(record.orderId)) return Promise.resolve(false);
      records.set(record.orderId, record);
      return Promise.resolve(true);
    },
    markCompensated: (_db, orderId) => {
      const record = records.get(orderId);
      if (record?.status !== 0) return Promise.resolve(false);
      records.set(orderId, { ...record, status: 5 });
      return Promise.resolve(true);
    },
  };
  return { store, records };
}

/** A scripted external endpoint that counts its calls. */
function endpoint(...answers: ExternalResult[]) {
  const calls: OrderRef[] = [];
  const call = (ref: OrderRef) => {
    calls.push(ref);
    return Promise.resolve(answers[Math.min(calls.length, answers.length) - 1] as ExternalResult);
  };
  return { call, calls };
}
const accepted = (body: unknown): ExternalResult => ({ ok: true, status: 201, body });
const refused = (status: number | undefined, reason: string): ExternalResult => ({
  ok: false,
  status,
  reason,
});

function build(options: { forward: ExternalResult[]; release?: ExternalResult[] }) {
  const { store, records } = memoryStore();
  /** How far the step's clock is ahead of the events' time. */
  const clock = { aheadMs: 0 };
  const forward = endpoint(...options.forward);
  const release = endpoint(...(options.release ?? [{ ok: true, status: 204, body: undefined }]));
  const handlers = {
    forward: forwardStep({
      schema: Ref,
      store,
      answer: Answer,
      call: (data) => forward.call(data),
      release: release.call,
      accepted: (data, answer) => ({
        type: 'done',
        data: { orderId: data.orderId, id: answer.id },
      }),
      rejected: (data, reason) => ({ type: 'refused', data: { orderId: data.orderId, reason } }),
      events,
      unreachableTimeoutMs: 60_000,
      now: () => Date.now() + clock.aheadMs,
    }),
    compensation: compensationStep({
      schema: Ref,
      store,
      release: release.call,
      compensated: (ref) => ({ type: 'undone', data: { orderId: ref.orderId } }),
      events,
    }),
  };
  return { handlers, records, forward, release, clock };
}

type Handler = ReturnType<typeof build>['handlers']['forward' | 'compensation'];

/** One delivery: prepare, then `between` (another instance's write), then handle. */
async function deliver(
  handler: Handler,
  { attempt = 1, between }: { attempt?: number; between?: () => void } = {},
): Promise<Emit[]> {
  const message = createMessage({ type: 't', source: 's', subject: 'o1', data: order });
  const prepared: unknown = await handler.prepare?.(message, { db, log: silentLogger, attempt });
  between?.();
  const emitted: Emit[] = [];
  await handler.handle(
    message,
    {
      tx: db,
      log: silentLogger,
      attempt,
      emit: (emit) => {
        emitted.push(emit);
        return message as Message<never>;
      },
    },
    prepared as never,
  );
  return emitted;
}

const tombstone: NewStepRecord = { ...order, status: 5, compensatedBeforeForward: true };

describe('forwardStep', () => {
  it('stores and emits an accepted answer; a duplicate neither calls nor emits', async () => {
    const { handlers, records, forward } = build({ forward: [accepted({ id: 'r1' })] });
    expect(await deliver(handlers.forward)).toEqual([
      { type: 'done', data: { orderId: 'o1', id: 'r1' } },
    ]);
    expect(records.get('o1')?.status).toBe(0);
    expect(await deliver(handlers.forward)).toEqual([]);
    expect(forward.calls).toHaveLength(1);
  });

  it('turns a final refusal into the rejection event, an unreachable system into an outage, then a rejection past its deadline', async () => {
    const refusing = build({ forward: [refused(503, 'busy')] });
    expect(await deliver(refusing.handlers.forward)).toEqual([
      { type: 'refused', data: { orderId: 'o1', reason: 'busy' } },
    ]);
    expect(refusing.records.get('o1')).toMatchObject({ status: 4, reason: 'busy' });

    const down = build({
      forward: [
        refused(undefined, 'unreachable'),
        refused(undefined, 'unreachable'),
        refused(undefined, 'unreachable'),
      ],
    });
    await expect(deliver(down.handlers.forward)).rejects.toBeInstanceOf(UnavailableError);
    // Attempts do not decide it (an open circuit makes none), the time since the event does.
    down.clock.aheadMs = 59_000;
    await expect(deliver(down.handlers.forward, { attempt: 9 })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(down.records.size).toBe(0);
    down.clock.aheadMs = 61_000;
    expect(await deliver(down.handlers.forward, { attempt: 2 })).toEqual([
      { type: 'refused', data: { orderId: 'o1', reason: 'unreachable' } },
    ]);
    expect(down.records.get('o1')).toMatchObject({ status: 4, reason: 'unreachable' });
  });

  it('dead-letters an answer that breaks the external contract', async () => {
    const { handlers } = build({ forward: [accepted({ unexpected: true })] });
    await expect(deliver(handlers.forward)).rejects.toBeInstanceOf(TerminalError);
  });

  it('dead-letters an event that would break its own contract', async () => {
    const { handlers } = build({ forward: [refused(404, '')] });
    await expect(deliver(handlers.forward)).rejects.toThrow(/breaks its contract/);
  });

  it('after a tombstone, reserves nothing and emits nothing', async () => {
    const { handlers, records, forward, release } = build({ forward: [accepted({ id: 'r1' })] });
    records.set('o1', tombstone);
    expect(await deliver(handlers.forward)).toEqual([]);
    expect(forward.calls).toHaveLength(0);
    expect(release.calls).toHaveLength(0);
  });

  it('releases a reservation that raced with a tombstone, on the next attempt', async () => {
    const { handlers, records, forward, release } = build({ forward: [accepted({ id: 'r1' })] });
    await expect(
      deliver(handlers.forward, { between: () => records.set('o1', tombstone) }),
    ).rejects.toBeInstanceOf(RetryableError);
    expect(forward.calls).toHaveLength(1);

    expect(await deliver(handlers.forward, { attempt: 2 })).toEqual([]);
    expect(release.calls).toEqual([order]);
    expect(forward.calls).toHaveLength(1);
    expect(records.get('o1')).toEqual(tombstone);
  });
});

describe('compensationStep', () => {
  it('releases a succeeded step, then marks it compensated; again changes nothing', async () => {
    const { handlers, records, release } = build({ forward: [accepted({ id: 'r1' })] });
    await deliver(handlers.forward);
    expect(await deliver(handlers.compensation)).toEqual([
      { type: 'undone', data: { orderId: 'o1' } },
    ]);
    expect(records.get('o1')?.status).toBe(5);
    expect(await deliver(handlers.compensation)).toEqual([]);
    expect(release.calls).toHaveLength(1);
  });

  it('leaves a tombstone when nothing was reserved yet', async () => {
    const { handlers, records, release } = build({ forward: [] });
    expect(await deliver(handlers.compensation)).toEqual([
      { type: 'undone', data: { orderId: 'o1' } },
    ]);
    expect(records.get('o1')).toMatchObject({ status: 5, compensatedBeforeForward: true });
    expect(release.calls).toHaveLength(0);
  });

  it('never marks compensated without a release: retries when the step succeeded meanwhile', async () => {
    const { handlers, records, release } = build({ forward: [] });
    const reserved: NewStepRecord = { ...order, status: 0 };
    await expect(
      deliver(handlers.compensation, { between: () => records.set('o1', reserved) }),
    ).rejects.toBeInstanceOf(RetryableError);
    expect(records.get('o1')?.status).toBe(0);

    expect(await deliver(handlers.compensation, { attempt: 2 })).toHaveLength(1);
    expect(release.calls).toHaveLength(1);
    expect(records.get('o1')?.status).toBe(5);
  });

  it('waits out a release that failed transiently (an outage), dead-letters a refused one', async () => {
    for (const [answer, error] of [
      [refused(503, 'busy'), UnavailableError],
      [refused(undefined, 'unreachable'), UnavailableError],
      [refused(409, 'no'), TerminalError],
    ] as const) {
      const { handlers, records } = build({ forward: [accepted({ id: 'r1' })], release: [answer] });
      await deliver(handlers.forward);
      await expect(deliver(handlers.compensation)).rejects.toBeInstanceOf(error);
      expect(records.get('o1')?.status).toBe(0);
    }
  });

  it('changes nothing for a rejected step', async () => {
    const { handlers, records, release } = build({ forward: [refused(404, 'none')] });
    await deliver(handlers.forward);
    expect(await deliver(handlers.compensation)).toEqual([]);
    expect(records.get('o1')?.status).toBe(4);
    expect(release.calls).toHaveLength(0);
  });
});
