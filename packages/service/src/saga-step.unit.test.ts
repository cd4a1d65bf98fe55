import { type Emit, RetryableError, TerminalError, UnavailableError } from '@cads/consumer';
import type { ExternalResult } from '@cads/http';
import { createMessage, type Message, silentLogger } from '@cads/messaging';
import { defineSaga, defineStep } from '@cads/saga';
import type { Queryable } from '@cads/storage';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { sagaStep } from './saga-step.ts';
import type { StepStatus } from './step-decisions.ts';
import type { NewStepRecord, StepStore, StoredStepRecord } from './step-store.ts';

const Case = Type.Object({ caseId: Type.String(), holder: Type.String() });
const Answer = Type.Object({ id: Type.String() });
const Reason = Type.String({ minLength: 1 });

/** A step that holds something and can be undone, and a last step that cannot. */
const hold = defineStep({
  name: 'hold',
  label: 'Hold',
  input: Case,
  success: { type: 'held', schema: Type.Object({ caseId: Type.String(), id: Type.String() }) },
  failure: {
    type: 'hold_refused',
    schema: Type.Object({ caseId: Type.String(), reason: Reason }),
    reasonField: 'reason',
  },
  compensation: {
    type: 'hold_undone',
    schema: Type.Object({ caseId: Type.String(), holder: Type.String({ minLength: 1 }) }),
  },
});
const finish = defineStep({
  name: 'finish',
  label: 'Finish',
  input: Type.Object({ caseId: Type.String() }),
  success: { type: 'finished', schema: Type.Object({ caseId: Type.String() }) },
  failure: {
    type: 'finish_refused',
    schema: Type.Object({ caseId: Type.String(), reason: Reason }),
    reasonField: 'reason',
  },
});
/** A step inserted between the two: only the map changes for them. */
const check = defineStep({
  name: 'check',
  label: 'Check',
  input: Type.Object({ caseId: Type.String() }),
  success: { type: 'checked', schema: Type.Object({ caseId: Type.String() }) },
  failure: {
    type: 'check_refused',
    schema: Type.Object({ caseId: Type.String(), reason: Reason }),
    reasonField: 'reason',
  },
  compensation: { type: 'check_undone', schema: Type.Object({ caseId: Type.String() }) },
});
const start = { type: 'case_opened', schema: Case, producer: 'desk' };
const saga = defineSaga({ name: 'cases', key: 'caseId', start, steps: [hold, finish] });
const longerSaga = defineSaga({
  name: 'cases',
  key: 'caseId',
  start,
  steps: [hold, check, finish],
});

/** The same case saga with a deadline: every step undoes its success when it passes. */
const timedSaga = defineSaga({
  name: 'cases',
  key: 'caseId',
  start,
  steps: [hold],
  deadline: {
    afterMs: 60_000,
    expired: {
      type: 'case_timed_out',
      schema: Type.Object({ caseId: Type.String(), holder: Type.String(), reason: Reason }),
      reasonField: 'reason',
    },
  },
});

const opened = { caseId: 'c1', holder: 'h1' };
const db = {} as Queryable;

/** The step's records in memory, with a hook to simulate another instance writing meanwhile. */
function memoryStore() {
  const records = new Map<string, StoredStepRecord & { reason?: string; cause?: unknown }>();
  const store: StepStore = {
    step: 'memory',
    find: (_db, sagaId) => {
      const record = records.get(sagaId);
      return Promise.resolve(
        record && {
          status: record.status,
          compensatedBeforeForward: record.compensatedBeforeForward,
          ...(record.input === undefined ? {} : { input: record.input }),
        },
      );
    },
    insert: (_db, record: NewStepRecord) => {
      if (records.has(record.sagaId)) return Promise.resolve(false);
      records.set(
        record.sagaId,
        record.status === 'compensated'
          ? { status: record.status, compensatedBeforeForward: true, cause: record.cause }
          : {
              status: record.status,
              compensatedBeforeForward: false,
              input: record.input,
              ...(record.reason === undefined ? {} : { reason: record.reason }),
            },
      );
      return Promise.resolve(true);
    },
    markCompensated: (_db, sagaId, cause) => {
      const record = records.get(sagaId);
      if (record?.status !== 'succeeded') return Promise.resolve(false);
      records.set(sagaId, { ...record, status: 'compensated', cause });
      return Promise.resolve(true);
    },
  };
  return { store, records };
}

/** A scripted external endpoint that records what it was called with. */
function endpoint(...answers: ExternalResult[]) {
  const calls: unknown[] = [];
  const call = (input: unknown) => {
    calls.push(input);
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

function build(options: {
  forward: ExternalResult[];
  release?: ExternalResult[];
  map?: typeof saga | typeof timedSaga;
}) {
  const { store, records } = memoryStore();
  /** How far the step's clock is ahead of the events' time. */
  const clock = { aheadMs: 0 };
  const forward = endpoint(...options.forward);
  const release = endpoint(...(options.release ?? [{ ok: true, status: 204, body: undefined }]));
  const handlers = sagaStep(options.map ?? saga, hold, {
    store,
    answer: Answer,
    call: (input) => forward.call(input),
    release: (input) => release.call(input),
    succeeded: (input, answer) => ({ caseId: input.caseId, id: answer.id }),
    failed: (input, reason) => ({ caseId: input.caseId, reason }),
    compensated: ({ sagaId, input, cause }) => ({
      caseId: sagaId,
      holder: input?.holder ?? (typeof cause.holder === 'string' ? cause.holder : ''),
    }),
    unreachableTimeoutMs: 60_000,
    now: () => Date.now() + clock.aheadMs,
  });
  return { handlers, records, forward, release, clock };
}

type Handlers = ReturnType<typeof build>['handlers'];

/** One delivery of `type`: prepare, then `between` (another instance's write), then handle. */
async function deliver(
  handlers: Handlers,
  type: string,
  data: unknown,
  { attempt = 1, between }: { attempt?: number; between?: () => void } = {},
): Promise<Emit[]> {
  const handler = handlers[type];
  if (!handler) throw new Error(`no handler for ${type}`);
  const message = createMessage({ type, source: 's', subject: 'c1', data });
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
    prepared,
  );
  return emitted;
}

const forwardOf = (handlers: Handlers, options?: Parameters<typeof deliver>[3]) =>
  deliver(handlers, 'case_opened', { ...opened, extra: 'ignored' }, options);
const failureOf = (handlers: Handlers, options?: Parameters<typeof deliver>[3]) =>
  deliver(handlers, 'finish_refused', { caseId: 'c1', reason: 'no' }, options);

const tombstone = {
  status: 'compensated' as StepStatus,
  compensatedBeforeForward: true,
  cause: { caseId: 'c1', holder: 'h1' },
};

describe('sagaStep: the saga’s deadline', () => {
  const timedOutOf = (handlers: Handlers) =>
    deliver(handlers, 'case_timed_out', { caseId: 'c1', holder: 'h1', reason: 'timed out' });

  it('undoes a success when the deadline passes, once', async () => {
    const { handlers, records, release } = build({
      forward: [accepted({ id: 'r1' })],
      map: timedSaga,
    });
    expect(Object.keys(handlers).sort()).toEqual(['case_opened', 'case_timed_out']);
    await forwardOf(handlers);
    expect(await timedOutOf(handlers)).toEqual([
      { type: 'hold_undone', data: { caseId: 'c1', holder: 'h1' } },
    ]);
    expect(release.calls).toEqual([opened]);
    expect(records.get('c1')?.status).toBe('compensated');
    expect(await timedOutOf(handlers)).toEqual([]);
    expect(release.calls).toHaveLength(1);
  });

  it('before the step ran: says nothing, and the late trigger does nothing', async () => {
    const { handlers, records, forward, release } = build({
      forward: [accepted({ id: 'r1' })],
      map: timedSaga,
    });
    expect(await timedOutOf(handlers)).toEqual([]);
    expect(records.get('c1')).toMatchObject({
      status: 'compensated',
      compensatedBeforeForward: true,
    });
    expect(await forwardOf(handlers)).toEqual([]);
    expect(forward.calls).toHaveLength(0);
    expect(release.calls).toHaveLength(0);
  });
});

describe('sagaStep: subscriptions from the map', () => {
  it('subscribes to its trigger and to the failures of every later step', () => {
    const { handlers } = build({ forward: [] });
    expect(Object.keys(handlers).sort()).toEqual(['case_opened', 'finish_refused']);
  });

  it('follows a step inserted after it: compensates on its failure too, with the same code', () => {
    const handlers = sagaStep(longerSaga, hold, {
      answer: Answer,
      call: () => Promise.resolve(accepted({ id: 'x' })),
      release: () => Promise.resolve(accepted(undefined)),
      succeeded: (input, answer) => ({ caseId: input.caseId, id: answer.id }),
      failed: (input, reason) => ({ caseId: input.caseId, reason }),
      compensated: ({ sagaId }) => ({ caseId: sagaId, holder: 'h' }),
    });
    expect(Object.keys(handlers).sort()).toEqual([
      'case_opened',
      'check_refused',
      'finish_refused',
    ]);
    const last = sagaStep(longerSaga, finish, {
      answer: Answer,
      call: () => Promise.resolve(accepted({ id: 'x' })),
      succeeded: (input) => ({ caseId: input.caseId }),
      failed: (input, reason) => ({ caseId: input.caseId, reason }),
    });
    expect(Object.keys(last)).toEqual(['checked']);
  });

  it('refuses a step that must be undone but cannot release, and a map without the step', () => {
    expect(() =>
      // @ts-expect-error: a step that declares a compensation must say how to release
      sagaStep(saga, hold, {
        answer: Answer,
        call: () => Promise.resolve(accepted({ id: 'x' })),
        succeeded: (input: { caseId: string }, answer: { id: string }) => ({
          caseId: input.caseId,
          id: answer.id,
        }),
        failed: (input: { caseId: string }, reason: string) => ({ caseId: input.caseId, reason }),
      }),
    ).toThrow(/needs a compensation event, release and compensated/);
    expect(() =>
      sagaStep(saga, check, {
        answer: Answer,
        call: () => Promise.resolve(accepted({ id: 'x' })),
        release: () => Promise.resolve(accepted(undefined)),
        succeeded: (input) => ({ caseId: input.caseId }),
        failed: (input, reason) => ({ caseId: input.caseId, reason }),
        compensated: ({ sagaId }) => ({ caseId: sagaId }),
      }),
    ).toThrow(/has no step check/);
  });

  it("validates the trigger against the step's input: extra fields pass, a missing one does not", () => {
    const { handlers } = build({ forward: [] });
    const forward = Compile(handlers.case_opened!.schema);
    expect(forward.Check({ ...opened, extra: 1 })).toBe(true);
    expect(forward.Check({ caseId: 'c1' })).toBe(false);
    const compensation = Compile(handlers.finish_refused!.schema);
    expect(compensation.Check({ caseId: 'c1' })).toBe(true);
    expect(compensation.Check({ holder: 'h1' })).toBe(false);
  });
});

describe('sagaStep: forward', () => {
  it('stores the declared input and emits the success; a duplicate neither calls nor emits', async () => {
    const { handlers, records, forward } = build({ forward: [accepted({ id: 'r1' })] });
    expect(await forwardOf(handlers)).toEqual([{ type: 'held', data: { caseId: 'c1', id: 'r1' } }]);
    expect(forward.calls).toEqual([opened]);
    expect(records.get('c1')).toMatchObject({ status: 'succeeded', input: opened });
    expect(await forwardOf(handlers)).toEqual([]);
    expect(forward.calls).toHaveLength(1);
  });

  it('turns a final refusal into the failure event, an unreachable system into an outage, then a release and a rejection past its deadline', async () => {
    const refusing = build({ forward: [refused(503, 'busy')] });
    expect(await forwardOf(refusing.handlers)).toEqual([
      { type: 'hold_refused', data: { caseId: 'c1', reason: 'busy' } },
    ]);
    expect(refusing.records.get('c1')).toMatchObject({ status: 'rejected', reason: 'busy' });

    const down = build({ forward: [refused(undefined, 'unreachable')] });
    // An event long past the deadline (a backlog) is still waited out: the step has not yet
    // seen the system unreachable for the deadline.
    down.clock.aheadMs = 600_000;
    await expect(forwardOf(down.handlers)).rejects.toBeInstanceOf(UnavailableError);
    // Attempts do not decide it (an open circuit makes none), the time since the first failure
    // does.
    down.clock.aheadMs = 659_000;
    await expect(forwardOf(down.handlers, { attempt: 9 })).rejects.toBeInstanceOf(UnavailableError);
    expect(down.records.size).toBe(0);
    down.clock.aheadMs = 661_000;
    expect(await forwardOf(down.handlers, { attempt: 2 })).toEqual([
      { type: 'hold_refused', data: { caseId: 'c1', reason: 'unreachable' } },
    ]);
    expect(down.records.get('c1')).toMatchObject({ status: 'rejected', reason: 'unreachable' });
    // An unanswered call may have held something: released before the rejection, once.
    expect(down.release.calls).toEqual([opened]);
    expect(refusing.release.calls).toEqual([]);
  });

  it('dead-letters an answer that breaks the external contract', async () => {
    const { handlers } = build({ forward: [accepted({ unexpected: true })] });
    await expect(forwardOf(handlers)).rejects.toBeInstanceOf(TerminalError);
  });

  it('dead-letters an event that would break its own contract', async () => {
    const { handlers } = build({ forward: [refused(404, '')] });
    await expect(forwardOf(handlers)).rejects.toThrow(/breaks its contract/);
  });

  it('after a tombstone, reserves nothing and emits nothing', async () => {
    const { handlers, records, forward, release } = build({ forward: [accepted({ id: 'r1' })] });
    records.set('c1', tombstone);
    expect(await forwardOf(handlers)).toEqual([]);
    expect(forward.calls).toHaveLength(0);
    expect(release.calls).toHaveLength(0);
  });

  it('releases a reservation that raced with a tombstone, on the next attempt, with the input', async () => {
    const { handlers, records, forward, release } = build({ forward: [accepted({ id: 'r1' })] });
    await expect(
      forwardOf(handlers, { between: () => records.set('c1', tombstone) }),
    ).rejects.toBeInstanceOf(RetryableError);
    expect(forward.calls).toHaveLength(1);

    expect(await forwardOf(handlers, { attempt: 2 })).toEqual([]);
    expect(release.calls).toEqual([opened]);
    expect(forward.calls).toHaveLength(1);
    expect(records.get('c1')).toEqual(tombstone);
  });
});

describe('sagaStep: compensation', () => {
  it('releases a succeeded step with its stored input, then marks it compensated; again changes nothing', async () => {
    const { handlers, records, release } = build({ forward: [accepted({ id: 'r1' })] });
    await forwardOf(handlers);
    // The failure event carries only the key: the release still gets what the step stored.
    expect(await deliver(handlers, 'finish_refused', { caseId: 'c1' })).toEqual([
      { type: 'hold_undone', data: { caseId: 'c1', holder: 'h1' } },
    ]);
    expect(release.calls).toEqual([opened]);
    expect(records.get('c1')).toMatchObject({ status: 'compensated', cause: { caseId: 'c1' } });
    expect(await failureOf(handlers)).toEqual([]);
    expect(release.calls).toHaveLength(1);
  });

  it('leaves a tombstone when nothing was reserved yet, without a release', async () => {
    const { handlers, records, release } = build({ forward: [] });
    expect(
      await deliver(handlers, 'finish_refused', { caseId: 'c1', holder: 'h1', reason: 'no' }),
    ).toEqual([{ type: 'hold_undone', data: { caseId: 'c1', holder: 'h1' } }]);
    expect(records.get('c1')).toMatchObject({
      status: 'compensated',
      compensatedBeforeForward: true,
    });
    expect(records.get('c1')?.input).toBeUndefined();
    expect(release.calls).toHaveLength(0);
  });

  it('never marks compensated without a release: retries when the step succeeded meanwhile', async () => {
    const { handlers, records, release } = build({ forward: [] });
    const succeeded = {
      status: 'succeeded' as const,
      compensatedBeforeForward: false,
      input: opened,
    };
    await expect(
      failureOf(handlers, { between: () => records.set('c1', succeeded) }),
    ).rejects.toBeInstanceOf(RetryableError);
    expect(records.get('c1')?.status).toBe('succeeded');

    expect(await failureOf(handlers, { attempt: 2 })).toHaveLength(1);
    expect(release.calls).toEqual([opened]);
    expect(records.get('c1')?.status).toBe('compensated');
  });

  it('waits out a release that failed transiently (an outage), dead-letters a refused one', async () => {
    for (const [answer, error] of [
      [refused(503, 'busy'), UnavailableError],
      [refused(undefined, 'unreachable'), UnavailableError],
      [refused(401, 'credential refused'), UnavailableError],
      [refused(409, 'no'), TerminalError],
    ] as const) {
      const { handlers, records } = build({ forward: [accepted({ id: 'r1' })], release: [answer] });
      await forwardOf(handlers);
      await expect(failureOf(handlers)).rejects.toBeInstanceOf(error);
      expect(records.get('c1')?.status).toBe('succeeded');
    }
  });

  it('waits out a refused credential (401) as an outage: never recorded as the system’s refusal', async () => {
    const { handlers, records } = build({ forward: [refused(401, 'not valid here')] });
    await expect(forwardOf(handlers)).rejects.toBeInstanceOf(UnavailableError);
    expect(records.size).toBe(0);
  });

  it('changes nothing for a rejected step', async () => {
    const { handlers, records, release } = build({ forward: [refused(404, 'none')] });
    await forwardOf(handlers);
    expect(await failureOf(handlers)).toEqual([]);
    expect(records.get('c1')?.status).toBe('rejected');
    expect(release.calls).toHaveLength(0);
  });
});
