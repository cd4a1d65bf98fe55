import { describe, expect, it } from 'vitest';
import { type LaneCredit, nextTarget, planPulls, targetBounds } from './pull-plan.ts';

const lane = (remaining: number, target: number, canPull = true): LaneCredit => ({
  remaining,
  canPull,
  target,
});
const total = (plan: ReturnType<typeof planPulls>) => plan.reduce((sum, p) => sum + p.batch, 0);

describe('planPulls', () => {
  it('gives a single idle lane all the free credit in one request', () => {
    expect(planPulls([lane(0, 64)], 64, 0, 16)).toEqual([{ lane: 0, batch: 64 }]);
  });

  it('waits for a quantum of free credit instead of pulling one message per ack', () => {
    expect(planPulls([lane(0, 64)], 3, 0, 16)).toEqual([]);
    expect(planPulls([lane(40, 64)], 15, 0, 16)).toEqual([]);
    expect(planPulls([lane(40, 64)], 30, 0, 16)).toEqual([{ lane: 0, batch: 24 }]);
  });

  it('serves lanes with nothing requested before topping up a busy one', () => {
    const plan = planPulls([lane(10, 61), lane(0, 1), lane(0, 1)], 3, 0, 4);
    expect(plan).toEqual([
      { lane: 1, batch: 1 },
      { lane: 2, batch: 1 },
    ]);
  });

  it('rotates which lane goes first when credit is scarce', () => {
    const lanes = [lane(0, 1), lane(0, 1), lane(0, 1)];
    expect(planPulls(lanes, 1, 0, 1)).toEqual([{ lane: 0, batch: 1 }]);
    expect(planPulls(lanes, 1, 2, 1)).toEqual([{ lane: 2, batch: 1 }]);
  });

  it('skips lanes that cannot pull and never plans more than the free credit', () => {
    const lanes = [lane(0, 30, false), lane(0, 30), lane(5, 30), lane(0, 30)];
    const plan = planPulls(lanes, 40, 0, 8);
    expect(plan.some((p) => p.lane === 0)).toBe(false);
    expect(total(plan)).toBeLessThanOrEqual(40);
    expect(plan).toEqual([
      { lane: 1, batch: 30 },
      { lane: 3, batch: 10 },
    ]);
  });
});

describe('targetBounds and nextTarget', () => {
  it('lets a lone lane use everything, always', () => {
    const bounds = targetBounds(64, 1);
    expect(bounds).toEqual({ initial: 64, floor: 64, cap: 64, quantum: 16 });
    expect(nextTarget(64, { filled: false, received: 0 }, bounds)).toBe(64);
  });

  it('starts lanes at an equal share, grows busy ones and shrinks quiet ones', () => {
    const bounds = targetBounds(64, 4);
    expect(bounds).toEqual({ initial: 16, floor: 1, cap: 61, quantum: 4 });
    expect(nextTarget(16, { filled: true, received: 16 }, bounds)).toBe(32);
    expect(nextTarget(48, { filled: true, received: 48 }, bounds)).toBe(61);
    expect(nextTarget(16, { filled: false, received: 0 }, bounds)).toBe(8);
    expect(nextTarget(16, { filled: false, received: 7 }, bounds)).toBe(14);
    expect(nextTarget(1, { filled: false, received: 0 }, bounds)).toBe(1);
  });

  it('keeps one message per lane when there is less credit than lanes', () => {
    expect(targetBounds(1, 3)).toEqual({ initial: 1, floor: 1, cap: 1, quantum: 1 });
  });
});
