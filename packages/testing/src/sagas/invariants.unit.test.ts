import { defineSaga, defineStep, type TrackedEvent } from '@cads/saga';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { type ExternalEffect, type SagaObservation, sagaViolations } from './invariants.ts';

const Id = Type.String({ minLength: 1 });
const Keyed = Type.Object({ id: Id });
const Refused = Type.Object({ id: Id, reason: Type.String() });

const step = <const N extends string>(name: N) =>
  defineStep({
    name,
    label: name.toUpperCase(),
    input: Keyed,
    success: { type: `${name}_done`, schema: Keyed },
    failure: { type: `${name}_refused`, schema: Refused, reasonField: 'reason' },
    compensation: { type: `${name}_undone`, schema: Keyed },
  });

const map = defineSaga({
  name: 'abc',
  key: 'id',
  start: { type: 'abc_requested', schema: Keyed, producer: 'abc' },
  steps: [step('a'), step('b'), step('c')],
  deadline: {
    afterMs: 60_000,
    expired: {
      type: 'abc_expired',
      schema: Type.Object({ id: Id, reason: Type.String(), step: Type.Optional(Type.String()) }),
      reasonField: 'reason',
    },
    waitingOnField: 'step',
  },
});

const event = (type: string, extra: Record<string, unknown> = {}): TrackedEvent => ({
  type,
  data: { id: 's1', ...extra },
});
const events = (...types: string[]) => types.map((type) => event(type));
const does = (step: string): ExternalEffect => ({ step, action: 'do' });
const undoes = (step: string): ExternalEffect => ({ step, action: 'undo' });

const completedEvents = events('abc_requested', 'a_done', 'b_done', 'c_done');
const completedEffects = [does('a'), does('b'), does('c')];
const failedAtCEvents = events(
  'abc_requested',
  'a_done',
  'b_done',
  'c_refused',
  'b_undone',
  'a_undone',
);
const failedAtCEffects = [does('a'), does('b'), undoes('b'), undoes('a')];

const observe = (saga: Partial<SagaObservation>): SagaObservation => ({
  label: 'saga 1',
  sagaId: 's1',
  outcomes: {},
  events: completedEvents,
  effects: completedEffects,
  trackerStatus: 'completed',
  timePassed: false,
  ...saga,
});
const failedAtC = (saga: Partial<SagaObservation>): SagaObservation =>
  observe({
    outcomes: { c: 'refuse' },
    events: failedAtCEvents,
    effects: failedAtCEffects,
    trackerStatus: 'failed',
    ...saga,
  });

describe('sagaViolations', () => {
  it('finds nothing wrong with a completed saga whose effects each happened once', () => {
    expect(sagaViolations(map, observe({}))).toEqual([]);
  });

  it('finds nothing wrong with a saga failed at its last step once the others are undone', () => {
    expect(sagaViolations(map, failedAtC({}))).toEqual([]);
  });

  it('says a saga that stopped half-way did not end, with where each step is', () => {
    const saga = observe({
      events: events('abc_requested', 'a_done'),
      effects: [does('a')],
      trackerStatus: 'running',
    });

    expect(sagaViolations(map, saga)).toEqual([
      'saga 1: did not end: running, a succeeded, b pending, c pending',
    ]);
  });

  it('prefixes each problem with the label of the saga observed', () => {
    const saga = observe({ label: 'saga 7', events: events('abc_requested'), effects: [] });

    expect(sagaViolations(map, saga)).toEqual([
      'saga 7: did not end: started, a pending, b pending, c pending',
      "saga 7: its tracker says completed, the map's verdict on its events is started",
    ]);
  });

  it('names the compensations a failed saga never did, latest first, and what they still hold', () => {
    const saga = failedAtC({
      events: events('abc_requested', 'a_done', 'b_done', 'c_refused'),
      effects: [does('a'), does('b')],
    });

    expect(sagaViolations(map, saga)).toEqual([
      'saga 1: failed, but b, a never compensated',
      "saga 1: a's external effect is still held after the saga failed",
      "saga 1: b's external effect is still held after the saga failed",
    ]);
  });

  it('says a saga compensated with no failure and no deadline was compensated for nothing', () => {
    const saga = observe({
      events: events('abc_requested', 'a_done', 'a_undone'),
      effects: [does('a'), undoes('a')],
      trackerStatus: 'failed',
    });

    expect(sagaViolations(map, saga)).toContain(
      'saga 1: compensated though no step failed and no deadline passed',
    );
  });

  it('says a step compensated twice was compensated 2 times', () => {
    const saga = failedAtC({ events: [...failedAtCEvents, event('b_undone')] });

    expect(sagaViolations(map, saga)).toEqual(['saga 1: b compensated 2 times']);
  });

  it('counts repeated successes and failures of a step too', () => {
    const saga = failedAtC({ events: [...failedAtCEvents, event('a_done'), event('c_refused')] });

    expect(sagaViolations(map, saga)).toEqual([
      'saga 1: a succeeded 2 times',
      'saga 1: c failed 2 times',
    ]);
  });

  it('says a step whose compensation came before its success compensated without succeeding', () => {
    const saga = failedAtC({
      events: events('abc_requested', 'a_done', 'b_undone', 'b_done', 'c_refused', 'a_undone'),
    });

    expect(sagaViolations(map, saga)).toEqual(['saga 1: b compensated without succeeding before']);
  });

  it('says an effect done twice happened 2 times, and is held twice by a completed saga', () => {
    const saga = observe({ effects: [does('a'), does('a'), does('b'), does('c')] });

    expect(sagaViolations(map, saga)).toEqual([
      "saga 1: a's external effect happened 2 times",
      "saga 1: a's external effect is held 2 times by the completed saga",
    ]);
  });

  it('says an effect undone twice was undone 2 times', () => {
    const saga = failedAtC({
      effects: [does('a'), does('b'), undoes('b'), undoes('b'), undoes('a')],
    });

    expect(sagaViolations(map, saga)).toEqual(["saga 1: b's external effect was undone 2 times"]);
  });

  it('says an effect undone before it was done, or never done, was undone without being done', () => {
    const raced = failedAtC({ effects: [does('a'), undoes('b'), does('b'), undoes('a')] });
    const neverDone = failedAtC({ effects: [does('a'), undoes('b'), undoes('a')] });

    expect(sagaViolations(map, raced)).toEqual([
      "saga 1: b's external effect was undone without being done",
    ]);
    expect(sagaViolations(map, neverDone)).toEqual([
      "saga 1: b's external effect was undone without being done",
    ]);
  });

  it('says an effect a failed saga did not undo is still held, even when its event says so', () => {
    const saga = failedAtC({ effects: [does('a'), does('b'), undoes('a')] });

    expect(sagaViolations(map, saga)).toEqual([
      "saga 1: b's external effect is still held after the saga failed",
    ]);
  });

  it('says a completed saga that holds nothing for a step holds it 0 times', () => {
    const skipped = observe({ effects: [does('a'), does('c')] });
    const released = observe({ effects: [...completedEffects, undoes('b')] });

    expect(sagaViolations(map, skipped)).toEqual([
      "saga 1: b's external effect is held 0 times by the completed saga",
    ]);
    expect(sagaViolations(map, released)).toEqual([
      "saga 1: b's external effect is held 0 times by the completed saga",
    ]);
  });

  it('says when the tracker status differs from the verdict on the events', () => {
    const saga = observe({ trackerStatus: 'running' });

    expect(sagaViolations(map, saga)).toEqual([
      "saga 1: its tracker says running, the map's verdict on its events is completed",
    ]);
  });

  it('says a saga completed although a step refused, naming the first step to refuse', () => {
    const saga = observe({ outcomes: { b: 'refuse', c: 'refuse' } });

    expect(sagaViolations(map, saga)).toEqual([
      'saga 1: ended completed, but its steps answered: failed at b',
    ]);
  });

  it('says a saga failed at another step than the one that refused', () => {
    const saga = failedAtC({
      outcomes: { c: 'refuse' },
      events: events('abc_requested', 'a_done', 'b_refused', 'a_undone'),
      effects: [does('a'), undoes('a')],
    });

    expect(sagaViolations(map, saga)).toEqual([
      'saga 1: ended failed at b, but its steps answered: failed at c',
    ]);
  });

  it('says a saga timed out though no time passed', () => {
    const saga = observe({
      events: [
        ...events('abc_requested', 'a_done'),
        event('abc_expired', { reason: 'late', step: 'b' }),
        event('a_undone'),
      ],
      effects: [does('a'), undoes('a')],
      trackerStatus: 'failed',
      timePassed: false,
    });

    expect(sagaViolations(map, saga)).toEqual(['saga 1: timed out, though no time passed']);
  });

  it('accepts a timeout once time passed and what succeeded is undone, whatever the steps answered', () => {
    const saga = observe({
      events: [
        ...events('abc_requested', 'a_done'),
        event('abc_expired', { reason: 'late', step: 'b' }),
        event('a_undone'),
      ],
      effects: [does('a'), undoes('a')],
      trackerStatus: 'failed',
      timePassed: true,
    });

    expect(sagaViolations(map, saga)).toEqual([]);
  });
});
