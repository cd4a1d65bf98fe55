import { describe, expect, it } from 'vitest';
import {
  decideCompensationCommit,
  decideForwardCommit,
  planCompensation,
  planForward,
  type StepRecord,
} from './step-decisions.ts';

const succeeded: StepRecord = { status: 'succeeded', compensatedBeforeForward: false };
const rejected: StepRecord = { status: 'rejected', compensatedBeforeForward: false };
const compensated: StepRecord = { status: 'compensated', compensatedBeforeForward: false };
const tombstone: StepRecord = { status: 'compensated', compensatedBeforeForward: true };

describe('a forward event', () => {
  it('given no record, when it arrives, then the system is called', () => {
    expect(planForward(undefined, 1, true)).toBe('call');
  });

  it.each([succeeded, rejected, compensated])(
    'given a decided step (%o), when it arrives again, then nothing is called',
    (record) => {
      expect(planForward(record, 1, true)).toBe('skip');
      expect(planForward(record, 3, true)).toBe('skip');
    },
  );

  it('given a tombstone, when it arrives first time, then nothing is called', () => {
    expect(planForward(tombstone, 1, true)).toBe('skip');
  });

  it('given a tombstone, when it is redelivered, then a possible reservation is released', () => {
    expect(planForward(tombstone, 2, true)).toBe('release');
    expect(planForward(tombstone, 2, false)).toBe('skip');
  });

  it('given still no record, when the system answered, then the answer is stored', () => {
    expect(decideForwardCommit(undefined, 'accepted')).toBe('store_accepted');
    expect(decideForwardCommit(undefined, 'rejected')).toBe('store_rejected');
  });

  it('given a tombstone written meanwhile, when the system accepted, then retry to release', () => {
    expect(decideForwardCommit(tombstone, 'accepted')).toBe('retry');
    expect(decideForwardCommit(tombstone, 'rejected')).toBe('nothing');
  });

  it('given a record written meanwhile by another delivery, then nothing', () => {
    expect(decideForwardCommit(succeeded, 'accepted')).toBe('nothing');
    expect(decideForwardCommit(rejected, 'rejected')).toBe('nothing');
  });

  it('given the system was not called, then nothing', () => {
    expect(decideForwardCommit(undefined, 'not_called')).toBe('nothing');
    expect(decideForwardCommit(tombstone, 'not_called')).toBe('nothing');
  });
});

describe('a compensation event', () => {
  it('given a succeeded step, then it is released before the transaction', () => {
    expect(planCompensation(succeeded)).toBe('release');
  });

  it.each([undefined, rejected, compensated, tombstone])(
    'given %o, then nothing is released',
    (record) => {
      expect(planCompensation(record)).toBe('skip');
    },
  );

  it('given no record, then a tombstone is stored', () => {
    expect(decideCompensationCommit(undefined, false)).toBe('store_tombstone');
  });

  it('given a released step, then it is marked compensated', () => {
    expect(decideCompensationCommit(succeeded, true)).toBe('mark_compensated');
  });

  it('given a step that succeeded after the plan (not released), then retry, never mark', () => {
    expect(decideCompensationCommit(succeeded, false)).toBe('retry');
  });

  it.each([rejected, compensated, tombstone])('given %o, then nothing', (record) => {
    expect(decideCompensationCommit(record, false)).toBe('nothing');
  });
});
