/**
 * Pure decisions of a saga step: one record per saga, a forward event that calls the external
 * system, and optionally compensation events that undo it. No I/O here: the handlers in
 * `saga-step.ts` read the record, ask these functions what to do, and do it.
 */

/** Where one saga's step is: it succeeded, was rejected, or its success was undone. */
export type StepStatus = 'succeeded' | 'rejected' | 'compensated';

/** What a step service remembers of one saga, as far as the decisions go. */
export interface StepRecord {
  readonly status: StepStatus;
  /**
   * The compensation arrived before the forward event (a tombstone): the forward event must
   * never reserve anything for this saga.
   */
  readonly compensatedBeforeForward: boolean;
}

/** Before the transaction, on a forward event: what to ask the external system. */
export type ForwardPlan = 'call' | 'skip' | 'release';

/**
 * - No record: call the system (with the step's idempotency key, so a repeat has no effect).
 * - A tombstone, on a redelivery: an earlier attempt may have reserved before the tombstone
 *   was written (see `decideForwardCommit`), so release (idempotent) and emit nothing.
 * - Anything else: this saga's step is already decided; do nothing.
 */
export function planForward(
  record: StepRecord | undefined,
  attempt: number,
  canRelease: boolean,
): ForwardPlan {
  if (!record) return 'call';
  if (record.compensatedBeforeForward && attempt > 1 && canRelease) return 'release';
  return 'skip';
}

/** What the external system said, as far as the decision goes. */
export type ForwardAnswer = 'accepted' | 'rejected' | 'not_called';

/** Inside the transaction, on a forward event: what to store and emit. */
export type ForwardCommit = 'store_accepted' | 'store_rejected' | 'retry' | 'nothing';

/**
 * `record` is read again inside the transaction, since it may have changed since the plan.
 * - Still no record: store the answer and emit the forward or cancelled event.
 * - A tombstone appeared after the system accepted: the reservation just made must be undone,
 *   which only a redelivery can do (no external call inside a transaction) → `retry`, whose
 *   plan is `release`.
 * - Anything else (nothing called, or another delivery decided first): nothing.
 */
export function decideForwardCommit(
  record: StepRecord | undefined,
  answer: ForwardAnswer,
): ForwardCommit {
  if (answer === 'not_called') return 'nothing';
  if (!record) return answer === 'accepted' ? 'store_accepted' : 'store_rejected';
  if (record.compensatedBeforeForward && answer === 'accepted') return 'retry';
  return 'nothing';
}

/** Before the transaction, on a compensation event: whether to release at the external system. */
export function planCompensation(record: StepRecord | undefined): 'release' | 'skip' {
  return record?.status === 'succeeded' ? 'release' : 'skip';
}

/** Inside the transaction, on a compensation event. */
export type CompensationCommit = 'mark_compensated' | 'store_tombstone' | 'retry' | 'nothing';

/**
 * - No record: leave a tombstone (so a late forward event reserves nothing) and emit compensated.
 * - Succeeded and released: mark compensated and emit it.
 * - Succeeded but not released (the record appeared after the plan): `retry`, so the next
 *   attempt releases first. A step is never marked compensated without a successful release.
 * - Rejected or already compensated: nothing to undo.
 */
export function decideCompensationCommit(
  record: StepRecord | undefined,
  released: boolean,
): CompensationCommit {
  if (!record) return 'store_tombstone';
  if (record.status === 'succeeded') return released ? 'mark_compensated' : 'retry';
  return 'nothing';
}
