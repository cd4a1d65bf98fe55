import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CircuitState, createCircuitBreaker } from './circuit-breaker.ts';

describe('circuit breaker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const breaker = () => {
    const states: Array<[CircuitState, number]> = [];
    const circuit = createCircuitBreaker({
      failureThreshold: 3,
      openMs: 1_000,
      maxOpenMs: 4_000,
      onStateChange: (state, openMs) => states.push([state, openMs]),
    });
    return { circuit, states };
  };

  /** Resolves when `promise` does, within the fake timers advanced by `ms`. */
  const settledWithin = async (promise: Promise<unknown>, ms: number) => {
    let settled = false;
    void promise.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(ms);
    return settled;
  };

  it('passes while closed, and opens after the threshold of failures in a row', async () => {
    const { circuit, states } = breaker();
    for (let i = 0; i < 2; i++) (await circuit.pass()).failed();
    expect(circuit.state).toBe('closed');
    (await circuit.pass()).succeeded();
    for (let i = 0; i < 2; i++) (await circuit.pass()).failed();
    expect(circuit.state).toBe('closed');
    (await circuit.pass()).failed();
    expect(circuit.state).toBe('open');
    expect(states).toEqual([['open', 1_000]]);
  });

  it('holds everyone while open, lets one probe through after the open time, then all on success', async () => {
    const { circuit, states } = breaker();
    for (let i = 0; i < 3; i++) (await circuit.pass()).failed();
    const first = circuit.pass();
    const second = circuit.pass();
    expect(await settledWithin(first, 999)).toBe(false);
    expect(await settledWithin(first, 1)).toBe(true);
    const probe = await first;
    expect(probe.probe).toBe(true);
    expect(circuit.state).toBe('half_open');
    expect(await settledWithin(second, 10_000)).toBe(false);
    probe.succeeded();
    expect(await settledWithin(second, 0)).toBe(true);
    expect((await second).probe).toBe(false);
    expect(states.map(([state]) => state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('re-opens for twice as long after a failed probe, up to the maximum', async () => {
    const { circuit, states } = breaker();
    for (let i = 0; i < 3; i++) (await circuit.pass()).failed();
    for (const expectedOpenMs of [2_000, 4_000, 4_000]) {
      const probe = circuit.pass();
      await vi.advanceTimersByTimeAsync(4_000);
      (await probe).failed();
      expect(states.at(-1)).toEqual(['open', expectedOpenMs]);
    }
  });

  it('lets the next one probe when a probe says nothing about the dependency', async () => {
    const { circuit } = breaker();
    for (let i = 0; i < 3; i++) (await circuit.pass()).failed();
    const first = circuit.pass();
    const second = circuit.pass();
    await vi.advanceTimersByTimeAsync(1_000);
    (await first).inconclusive();
    expect(await settledWithin(second, 1_000)).toBe(true);
    expect((await second).probe).toBe(true);
  });

  it('ignores late results of work let through before it opened', async () => {
    const { circuit } = breaker();
    const early = await circuit.pass();
    for (let i = 0; i < 3; i++) (await circuit.pass()).failed();
    early.succeeded();
    expect(circuit.state).toBe('open');
  });

  it('cuts a backoff short when the circuit closes, and releases everyone on dispose', async () => {
    const { circuit } = breaker();
    for (let i = 0; i < 3; i++) (await circuit.pass()).failed();
    const backingOff = circuit.backOff(60_000);
    const probe = circuit.pass();
    await vi.advanceTimersByTimeAsync(1_000);
    (await probe).succeeded();
    expect(await settledWithin(backingOff, 0)).toBe(true);

    for (let i = 0; i < 3; i++) (await circuit.pass()).failed();
    const waiting = circuit.pass();
    circuit.dispose();
    expect(await settledWithin(waiting, 0)).toBe(true);
  });
});
