import Type, { type TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { checkSaga, defineSaga, defineStep, type SagaDeclaration, sagaGraph } from './index.ts';

const Ref = { parcelId: Type.String(), customerId: Type.String() };
const event = <E extends Record<string, TSchema>>(extra: E = {} as E) =>
  Type.Object({ ...Ref, ...extra });

const stock = defineStep({
  name: 'stock',
  label: 'Stock',
  input: Type.Object({ parcelId: Type.String() }),
  success: { type: 'stock_reserved', schema: event({ shelf: Type.String() }) },
  failure: { type: 'stock_refused', schema: event({ why: Type.String() }), reasonField: 'why' },
  compensation: { type: 'stock_released', schema: event() },
  shows: [{ field: 'shelf', label: 'Shelf' }],
});
const invoice = defineStep({
  name: 'invoice',
  label: 'Invoice',
  input: Type.Object({ parcelId: Type.String(), shelf: Type.String() }),
  success: {
    type: 'invoice_issued',
    schema: event({ shelf: Type.String(), invoiceId: Type.String() }),
  },
  failure: { type: 'invoice_refused', schema: event({ why: Type.String() }), reasonField: 'why' },
  compensation: { type: 'invoice_voided', schema: event() },
});
const dispatch = defineStep({
  name: 'dispatch',
  label: 'Dispatch',
  input: Type.Object({ invoiceId: Type.String() }),
  success: { type: 'parcel_dispatched', schema: event({ trackingId: Type.String() }) },
  failure: { type: 'dispatch_refused', schema: event({ why: Type.String() }), reasonField: 'why' },
  shows: [{ field: 'trackingId', label: 'Tracking' }],
});
const start = {
  type: 'parcel_ordered',
  schema: event(),
  producer: 'shop',
} as const;
const declaration = {
  name: 'parcel',
  key: 'parcelId',
  start,
  steps: [stock, invoice, dispatch],
} satisfies SagaDeclaration;
const map = defineSaga(declaration);

describe('saga map', () => {
  it('puts the steps in order and wires each to the success before it', () => {
    expect(map.steps.map((step) => [step.name, step.trigger])).toEqual([
      ['stock', 'parcel_ordered'],
      ['invoice', 'stock_reserved'],
      ['dispatch', 'invoice_issued'],
    ]);
    expect(map.completion).toBe('parcel_dispatched');
  });

  it('names the final events with the failing step', () => {
    expect(map.finalEvents).toEqual([
      { type: 'parcel_dispatched', outcome: 'completed', step: 'dispatch' },
      { type: 'stock_refused', outcome: 'failed', step: 'stock', reasonField: 'why' },
      { type: 'invoice_refused', outcome: 'failed', step: 'invoice', reasonField: 'why' },
      { type: 'dispatch_refused', outcome: 'failed', step: 'dispatch', reasonField: 'why' },
    ]);
  });

  it('says which succeeded steps compensate each failure, and on which events', () => {
    expect(map.compensating('dispatch').map((step) => step.name)).toEqual(['invoice', 'stock']);
    expect(map.compensating('invoice').map((step) => step.name)).toEqual(['stock']);
    expect(map.compensating('stock')).toEqual([]);
    expect(map.step('stock').compensateOn).toEqual(['invoice_refused', 'dispatch_refused']);
    expect(map.step('dispatch').compensateOn).toEqual([]);
  });

  it('lists who produces and consumes each event; the start producer tracks them all', () => {
    expect(map.event('stock_reserved')).toMatchObject({
      producer: 'stock',
      consumers: ['invoice', 'shop'],
      role: 'success',
    });
    expect(map.event('dispatch_refused')?.consumers).toEqual(['stock', 'invoice', 'shop']);
    expect(map.consumedBy('stock')).toEqual([
      'parcel_ordered',
      'invoice_refused',
      'dispatch_refused',
    ]);
    expect(map.consumedBy('shop')).toHaveLength(8);
  });

  it('refuses an unsound declaration with every problem', () => {
    expect(() => defineSaga({ ...declaration, steps: [dispatch, stock] })).toThrow(
      /stock fails \(stock_refused\), dispatch has succeeded[\s\S]*dispatch needs invoiceId/,
    );
  });
});

describe('verdict', () => {
  const states = (types: string[]) => map.verdict(types).steps.map((step) => step.state);

  it('runs from started to completed', () => {
    expect(map.verdict(['parcel_ordered'])).toMatchObject({ status: 'started', final: false });
    expect(map.verdict(['parcel_ordered', 'stock_reserved']).status).toBe('running');
    const done = map.verdict([
      'parcel_ordered',
      'stock_reserved',
      'invoice_issued',
      'parcel_dispatched',
    ]);
    expect(done).toMatchObject({ status: 'completed', final: true, settled: true });
    expect(states(['parcel_dispatched'])).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('fails at the first failing step and is settled once every compensation is in', () => {
    const failing = ['parcel_ordered', 'stock_reserved', 'invoice_issued', 'dispatch_refused'];
    expect(map.verdict(failing)).toMatchObject({
      status: 'failed',
      final: true,
      settled: false,
      failedStep: 'dispatch',
      awaitingCompensation: ['invoice', 'stock'],
    });
    const settled = map.verdict([...failing, 'invoice_voided', 'stock_released']);
    expect(settled).toMatchObject({ settled: true, awaitingCompensation: [] });
    expect(settled.steps.map((step) => step.state)).toEqual([
      'compensated',
      'compensated',
      'failed',
    ]);
  });

  it('counts a compensation that arrives before its failure as a failure', () => {
    expect(map.verdict(['stock_released'])).toMatchObject({ status: 'failed', settled: false });
  });

  it('depends only on the set of types, whatever their order or repeats', () => {
    const types = map.events.map((saga) => saga.type);
    for (let round = 0; round < 200; round++) {
      const subset = types.filter((_, index) => ((round * 2654435761) >>> index) & 1);
      const shuffled = [...subset, ...subset].sort(
        () => Math.sin(round * 7919 + subset.length) - 0.2,
      );
      expect(map.verdict(shuffled)).toEqual(map.verdict(subset));
    }
  });

  it('tracks the failure reason and the shown fields', () => {
    const progress = map.track([
      { type: 'parcel_ordered', data: {} },
      { type: 'stock_reserved', data: { shelf: 'B4' } },
      { type: 'invoice_refused', data: { why: 'card expired' } },
    ]);
    expect(progress.failure).toEqual({
      step: 'invoice',
      type: 'invoice_refused',
      reason: 'card expired',
    });
    expect(progress.shown).toEqual([
      { step: 'stock', field: 'shelf', label: 'Shelf', value: 'B4' },
    ]);
  });
});

describe('a saga with a deadline', () => {
  const expired = {
    type: 'parcel_timed_out',
    schema: event({ because: Type.String(), step: Type.Optional(Type.String()) }),
    reasonField: 'because',
  };
  const dispatchUndone = {
    ...dispatch,
    compensation: { type: 'parcel_recalled', schema: event() },
  };
  const timed = defineSaga({
    ...declaration,
    steps: [stock, invoice, dispatchUndone],
    deadline: { afterMs: 3_600_000, expired, waitingOnField: 'step' },
  });
  const after = (...types: string[]) => timed.verdict(['parcel_ordered', ...types]);

  it('makes every step undo its success when the deadline passes, the last one too', () => {
    expect(timed.steps.map((step) => step.compensateOn.at(-1))).toEqual([
      'parcel_timed_out',
      'parcel_timed_out',
      'parcel_timed_out',
    ]);
    expect(timed.event('parcel_timed_out')).toMatchObject({
      role: 'expiry',
      producer: 'shop',
      consumers: ['stock', 'invoice', 'dispatch'],
    });
    expect(timed.finalEvents.at(-1)).toEqual({
      type: 'parcel_timed_out',
      outcome: 'timed_out',
      step: 'dispatch',
      reasonField: 'because',
    });
    expect(sagaGraph(timed)).toContain('deadline -.->|parcel_timed_out| u_dispatch');
  });

  it('fails the saga on the step it waited on, and awaits the undoing of every success', () => {
    const timedOut = after('stock_reserved', 'parcel_timed_out');
    expect(timedOut).toMatchObject({
      status: 'failed',
      final: true,
      timedOut: true,
      failedStep: 'invoice',
      settled: false,
      awaitingCompensation: ['stock'],
    });
    expect(timedOut.steps.map((step) => step.state)).toEqual(['succeeded', 'failed', 'pending']);
    expect(after('stock_reserved', 'parcel_timed_out', 'stock_released')).toMatchObject({
      settled: true,
      awaitingCompensation: [],
    });
    expect(after('parcel_timed_out')).toMatchObject({ failedStep: 'stock', settled: true });
  });

  it('never lets a late success revive it: the success must be undone', () => {
    const late = after(
      'stock_reserved',
      'invoice_issued',
      'parcel_dispatched',
      'parcel_timed_out',
      'stock_released',
    );
    expect(late).toMatchObject({
      status: 'failed',
      timedOut: true,
      settled: false,
      awaitingCompensation: ['dispatch', 'invoice'],
    });
    expect(late.failedStep).toBeUndefined();
  });

  it('gives the deadline event’s reason, on the step waited on', () => {
    const progress = timed.track([
      { type: 'parcel_ordered', data: {} },
      { type: 'stock_reserved', data: { shelf: 'B4' } },
      { type: 'parcel_timed_out', data: { because: 'timed out' } },
    ]);
    expect(progress.failure).toEqual({
      step: 'invoice',
      type: 'parcel_timed_out',
      reason: 'timed out',
    });
    // The step the tracker says it waited on stays the failed one when its success comes late.
    const late = timed.track([
      { type: 'stock_reserved', data: { shelf: 'B4' } },
      { type: 'parcel_timed_out', data: { because: 'timed out', step: 'stock' } },
      { type: 'stock_released', data: {} },
    ]);
    expect(late.failure).toEqual({ step: 'stock', type: 'parcel_timed_out', reason: 'timed out' });
    expect(late.steps.map((step) => step.state)).toEqual(['compensated', 'pending', 'pending']);
    // A step's own failure, when it is known too, is the failure shown.
    expect(
      timed.track([
        { type: 'invoice_refused', data: { why: 'card expired' } },
        { type: 'parcel_timed_out', data: { because: 'timed out' } },
      ]).failure,
    ).toEqual({ step: 'invoice', type: 'invoice_refused', reason: 'card expired' });
  });

  it('refuses a step that cannot be undone, and a deadline that is not a positive time', () => {
    expect(
      checkSaga({ ...declaration, deadline: { afterMs: 60_000, expired } }).map((p) => p.message),
    ).toEqual([
      "when the saga's deadline passes (parcel_timed_out), dispatch may have succeeded and stays done: it declares no compensation",
    ]);
    expect(
      checkSaga({
        ...declaration,
        steps: [stock, invoice, dispatchUndone],
        deadline: { afterMs: 0, expired },
      }).map((p) => p.code),
    ).toEqual(['invalid-deadline']);
    expect(
      checkSaga({
        ...declaration,
        steps: [stock, invoice, dispatchUndone],
        deadline: { afterMs: 60_000, expired: { ...expired, reasonField: 'nope' } },
      }).map((p) => p.code),
    ).toEqual(['missing-reason-field']);
  });
});

describe('checkSaga', () => {
  const codes = (steps: SagaDeclaration['steps'], extra: Partial<SagaDeclaration> = {}) =>
    checkSaga({ ...declaration, ...extra, steps }).map((problem) => problem.code);

  it('finds nothing wrong in a sound saga', () => {
    expect(checkSaga(declaration)).toEqual([]);
  });

  it('finds a step that cannot be undone before a step that can fail', () => {
    const problems = checkSaga({
      ...declaration,
      steps: [stock, { ...invoice, compensation: undefined }, dispatch],
    });
    expect(problems).toEqual([
      {
        code: 'uncompensated',
        message:
          'when dispatch fails (dispatch_refused), invoice has succeeded and stays done: it declares no compensation',
      },
    ]);
  });

  it('finds a trigger event with no producer', () => {
    expect(codes([stock, invoice, { step: dispatch, after: 'packing' }])).toContain('no-producer');
  });

  it('finds a cycle and the steps it cuts off', () => {
    const problems = checkSaga({
      ...declaration,
      steps: [stock, { step: invoice, after: 'dispatch' }, { step: dispatch, after: 'invoice' }],
    });
    expect(problems.map((problem) => problem.code)).toEqual(['cycle']);
    expect(problems[0]?.message).toMatch(
      /invoice → dispatch → invoice|dispatch → invoice → dispatch/,
    );
  });

  it('finds a fork and the unreachable branch', () => {
    expect(codes([stock, invoice, { step: dispatch, after: 'stock' }])).toEqual(
      expect.arrayContaining(['fork', 'unreachable']),
    );
  });

  it('finds an input the event before does not carry', () => {
    expect(codes([stock, dispatch, invoice])).toContain('input-not-carried');
  });

  it('finds duplicate steps and events, missing keys and fields', () => {
    expect(codes([stock, stock])).toEqual(expect.arrayContaining(['duplicate-step']));
    expect(codes([stock, { ...invoice, name: 'invoice2', success: stock.success }])).toContain(
      'duplicate-event',
    );
    expect(codes([stock, invoice, dispatch], { key: 'orderNumber' })).toContain('missing-key');
    expect(
      codes([
        stock,
        invoice,
        { ...dispatch, failure: { ...dispatch.failure, reasonField: 'cause' } },
      ]),
    ).toContain('missing-reason-field');
    expect(codes([])).toEqual(['empty', 'no-consumer']);
  });
});

describe('sagaGraph', () => {
  it('draws the success path, the failures and the compensations', () => {
    const graph = sagaGraph(map);
    expect(graph).toContain('start -->|parcel_ordered| s_stock');
    expect(graph).toContain('s_dispatch -->|parcel_dispatched| completed');
    expect(graph).toContain('s_dispatch -.->|dispatch_refused| u_invoice');
    expect(graph).toContain('u_stock -.->|stock_released| failed');
    expect(graph).not.toContain('u_dispatch');
  });
});
