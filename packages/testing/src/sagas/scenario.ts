import type { SagaMap } from '@cads/saga';
import fc from 'fast-check';
import type { StepOutcome, StepOutcomes } from './invariants.ts';

/**
 * What may go wrong with one delivery:
 * - `ack-lost`: the subscriber commits, its ack never reaches the broker (a crash between
 *   commit and ack, or a lost ack): the message is delivered again;
 * - `crash`: the subscriber dies just before its commit, after whatever it did outside its
 *   transaction (an external call): nothing is committed, the message is delivered again;
 * - `republish`: its producer emits the same event a second time, under a new message id.
 */
export type Fault = 'ack-lost' | 'crash' | 'republish';
export const faults: readonly Fault[] = ['ack-lost', 'crash', 'republish'];

/** One scheduling decision: which queued delivery goes next, and what goes wrong with it. */
export interface Choice {
  /** Index into the queue, modulo its length. */
  readonly pick: number;
  readonly fault?: Fault;
}

/**
 * One generated scenario: the sagas started (each with its steps' answers), the sequence and
 * faults of the first deliveries (after them: oldest first, no faults, until quiescent), and
 * when time passes every deadline (never, when absent).
 */
export interface Scenario {
  readonly sagas: readonly StepOutcomes[];
  readonly schedule: readonly Choice[];
  readonly timePassesAt?: number;
}

export interface ScenarioShape {
  /** Sagas per scenario, at most. */
  readonly maxSagas: number;
  /** Scheduled deliveries per scenario, at most. */
  readonly maxSchedule: number;
}

/** Scenarios for `map`: every step's answer, any delivery sequence, faults, a deadline passing. */
export function scenarios(map: SagaMap, shape: ScenarioShape): fc.Arbitrary<Scenario> {
  // Mostly accepted: a saga whose first step refuses explores little of the map.
  const outcome: fc.Arbitrary<StepOutcome> = fc.oneof(
    { arbitrary: fc.constant('accept' as const), weight: 3 },
    { arbitrary: fc.constant('refuse' as const), weight: 1 },
  );
  const outcomes = fc.record(
    Object.fromEntries(map.steps.map((step) => [step.name, outcome])),
  ) as fc.Arbitrary<StepOutcomes>;
  const fault: fc.Arbitrary<Fault | undefined> = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 6 },
    ...faults.map((kind) => ({ arbitrary: fc.constant(kind), weight: 1 })),
  );
  const choice: fc.Arbitrary<Choice> = fc
    .record({ pick: fc.nat({ max: 1_000 }), fault })
    .map(({ pick, fault }) => (fault === undefined ? { pick } : { pick, fault }));
  const timePassesAt: fc.Arbitrary<number | undefined> = map.deadline
    ? fc.option(fc.nat({ max: shape.maxSchedule }), { nil: undefined, freq: 3 })
    : fc.constant(undefined);
  return fc
    .record({
      sagas: fc.array(outcomes, { minLength: 1, maxLength: shape.maxSagas }),
      // At full size: fast-check's default size keeps arrays short, which would leave the
      // late deliveries (the compensations) without faults or reordering.
      schedule: fc.array(choice, { maxLength: shape.maxSchedule, size: 'max' }),
      timePassesAt,
    })
    .map(({ sagas, schedule, timePassesAt }) =>
      timePassesAt === undefined ? { sagas, schedule } : { sagas, schedule, timePassesAt },
    );
}
