import type { SagaMap, SagaStatus, TrackedEvent } from '@cads/saga';

/** What a scenario asks of a step's external system for one saga. */
export type StepOutcome = 'accept' | 'refuse';
/** Each step's answer, by step name (a step not named accepts). */
export type StepOutcomes = Readonly<Record<string, StepOutcome>>;

/** One thing an external system did for a saga: a step's effect, or its undoing. */
export interface ExternalEffect {
  readonly step: string;
  readonly action: 'do' | 'undo';
}

/** Everything known of one saga once its scenario has quiesced. */
export interface SagaObservation {
  /** How the scenario names it, e.g. `saga 2`. */
  readonly label: string;
  readonly sagaId: string;
  readonly outcomes: StepOutcomes;
  /** The saga's events as the services published them, in order, each message once. */
  readonly events: readonly TrackedEvent[];
  /** What the external systems did for it, in order. */
  readonly effects: readonly ExternalEffect[];
  /** The status its tracker reports. */
  readonly trackerStatus: SagaStatus;
  /** Whether the scenario let the saga's deadline pass. */
  readonly timePassed: boolean;
}

/**
 * The universal invariants of a choreographed saga, checked on one saga's observation. Pure.
 * Returns one sentence per broken invariant (empty: all hold):
 * - it ended: completed, or failed with every compensation the failure calls for done;
 * - it ended as its steps answered: completed when every step accepted, else failed at the first
 *   step that refused (unless its deadline passed first);
 * - each step succeeded, failed and compensated at most once, and never compensated before it
 *   succeeded;
 * - each external effect happened at most once, and none was undone without being done;
 *   nothing stays held by a failed saga, and a completed one holds each step's effect once;
 * - its tracker's status is the map's verdict on its events.
 */
export function sagaViolations(map: SagaMap, saga: SagaObservation): string[] {
  const problems: string[] = [];
  const say = (problem: string) => problems.push(`${saga.label}: ${problem}`);
  const progress = map.track(saga.events);
  const types = saga.events.map((event) => event.type);
  const count = (type: string | undefined) => types.filter((seen) => seen === type).length;

  if (!progress.final) {
    say(`did not end: ${progress.status}, ${describeSteps(progress.steps)}`);
  } else if (!progress.settled) {
    const awaiting = progress.awaitingCompensation;
    say(
      awaiting.length > 0
        ? `failed, but ${awaiting.join(', ')} never compensated`
        : 'compensated though no step failed and no deadline passed',
    );
  }

  const refusing = map.steps.find((step) => saga.outcomes[step.name] === 'refuse');
  if (progress.final && !progress.timedOut) {
    const expected = refusing ? `failed at ${refusing.name}` : 'completed';
    const actual =
      progress.status === 'failed' ? `failed at ${progress.failedStep ?? '?'}` : progress.status;
    if (actual !== expected) say(`ended ${actual}, but its steps answered: ${expected}`);
  }
  if (progress.timedOut && !saga.timePassed) say('timed out, though no time passed');

  for (const step of map.steps) {
    for (const [what, type] of [
      ['succeeded', step.success.type],
      ['failed', step.failure.type],
      ['compensated', step.compensation?.type],
    ] as const) {
      const times = count(type);
      if (times > 1) say(`${step.name} ${what} ${times} times`);
    }
    if (step.compensation) {
      const compensatedAt = types.indexOf(step.compensation.type);
      const succeededAt = types.indexOf(step.success.type);
      if (compensatedAt !== -1 && (succeededAt === -1 || succeededAt > compensatedAt)) {
        say(`${step.name} compensated without succeeding before`);
      }
    }

    const effects = saga.effects.filter((effect) => effect.step === step.name);
    const done = effects.filter((effect) => effect.action === 'do').length;
    const undone = effects.filter((effect) => effect.action === 'undo').length;
    if (done > 1) say(`${step.name}'s external effect happened ${done} times`);
    if (undone > 1) say(`${step.name}'s external effect was undone ${undone} times`);
    const firstUndo = effects.findIndex((effect) => effect.action === 'undo');
    const firstDo = effects.findIndex((effect) => effect.action === 'do');
    if (firstUndo !== -1 && (firstDo === -1 || firstDo > firstUndo)) {
      say(`${step.name}'s external effect was undone without being done`);
    }
    if (progress.status === 'failed' && done > undone) {
      say(`${step.name}'s external effect is still held after the saga failed`);
    }
    if (progress.status === 'completed' && (done !== 1 || undone !== 0)) {
      say(`${step.name}'s external effect is held ${done - undone} times by the completed saga`);
    }
  }

  if (saga.trackerStatus !== progress.status) {
    say(
      `its tracker says ${saga.trackerStatus}, the map's verdict on its events is ${progress.status}`,
    );
  }
  return problems;
}

function describeSteps(steps: readonly { name: string; state: string }[]): string {
  return steps.map((step) => `${step.name} ${step.state}`).join(', ');
}
