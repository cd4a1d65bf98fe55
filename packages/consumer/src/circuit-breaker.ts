export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Outage failures in a row that open the circuit. Default 5. */
  readonly failureThreshold?: number;
  /** How long the circuit first stays open before a probe. Default 1 000. */
  readonly openMs?: number;
  /** Each failed probe doubles the open time, up to this. Default 30 000. */
  readonly maxOpenMs?: number;
  /** Told of every change of state (metrics, logs). */
  readonly onStateChange?: (state: CircuitState, openMs: number) => void;
  /** Injectable for tests. */
  readonly now?: () => number;
}

/**
 * Who asked to pass: exactly one of `succeeded`, `failed` or `inconclusive` tells the breaker
 * what the work learnt about the dependency.
 */
export interface CircuitPass {
  /** This pass is the probe of a half-open circuit: let as little work through as will tell. */
  readonly probe: boolean;
  /** The dependency answered: closes a half-open circuit, resets the failure count. */
  succeeded(): void;
  /** The dependency is unavailable: counts towards opening, re-opens after a failed probe. */
  failed(): void;
  /** The work said nothing about the dependency (e.g. it was poison): the next may probe. */
  inconclusive(): void;
}

export interface CircuitBreaker {
  readonly state: CircuitState;
  /**
   * Resolves when work may run: at once while closed; while open, once the open time is over
   * and it is this caller's turn to probe (one at a time); after a successful probe, for all.
   */
  pass(): Promise<CircuitPass>;
  /**
   * Waits `ms`, or less if the circuit closes meanwhile (a probe succeeded: no reason to wait
   * longer for the dependency). Then pass as usual.
   */
  backOff(ms: number): Promise<void>;
  /** Releases every waiter (stopping): they pass at once. */
  dispose(): void;
}

/**
 * A circuit breaker for work that depends on something that can go down: after
 * `failureThreshold` outage failures in a row the circuit opens and work waits instead of
 * failing again and again; once the open time is over, one piece of work goes through as a
 * probe (half-open): success closes the circuit and releases everyone, failure opens it again
 * for twice as long (capped). Nothing is rejected: callers wait, so an outage costs neither
 * attempts nor CPU.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const threshold = Math.max(1, options.failureThreshold ?? 5);
  const baseOpenMs = options.openMs ?? 1_000;
  const maxOpenMs = Math.max(baseOpenMs, options.maxOpenMs ?? 30_000);
  const now = options.now ?? Date.now;
  let state: CircuitState = 'closed';
  let failures = 0;
  let openMs = baseOpenMs;
  let openUntil = 0;
  let probing = false;
  let disposed = false;
  let timer: NodeJS.Timeout | undefined;
  /** Waiting to pass. */
  let waiters: Array<() => void> = [];
  /** Backing off until the circuit closes. */
  let sleepers: Array<() => void> = [];

  const setState = (next: CircuitState) => {
    if (next === state) return;
    state = next;
    options.onStateChange?.(next, openMs);
  };

  const release = () => {
    const all = waiters;
    waiters = [];
    for (const resolve of all) resolve();
  };

  /** Lets the next waiter probe, once the open time is over. */
  const schedule = () => {
    if (timer || disposed || state === 'closed' || probing || waiters.length === 0) return;
    const delay = Math.max(0, openUntil - now());
    timer = setTimeout(() => {
      timer = undefined;
      if (disposed || state === 'closed' || probing) return;
      const next = waiters.shift();
      if (!next) return;
      probing = true;
      setState('half_open');
      next();
    }, delay);
    timer.unref();
  };

  const open = (ms: number) => {
    openMs = ms;
    openUntil = now() + ms;
    setState('open');
    schedule();
  };

  const close = () => {
    failures = 0;
    openMs = baseOpenMs;
    setState('closed');
    if (timer) clearTimeout(timer);
    timer = undefined;
    release();
    const woken = sleepers;
    sleepers = [];
    for (const wake of woken) wake();
  };

  const newPass = (asProbe: boolean): CircuitPass => {
    let done = false;
    const settle = (outcome: () => void) => {
      if (done) return;
      done = true;
      if (asProbe) probing = false;
      outcome();
      schedule();
    };
    // Only the probe decides an open circuit: work let through before it opened, finishing
    // late either way, says nothing newer than what opened it.
    return {
      probe: asProbe,
      succeeded: () =>
        settle(() => {
          if (asProbe || state === 'closed') close();
        }),
      failed: () =>
        settle(() => {
          failures += 1;
          if (asProbe) open(Math.min(maxOpenMs, openMs * 2));
          else if (state === 'closed' && failures >= threshold) open(baseOpenMs);
        }),
      inconclusive: () => settle(() => undefined),
    };
  };

  return {
    get state() {
      return state;
    },
    async pass() {
      if (state === 'closed' || disposed) return newPass(false);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        schedule();
      });
      // Released by a close (or dispose): everyone passes; by the timer: this one probes.
      return newPass(state === 'half_open' && probing);
    },
    backOff(ms) {
      if (disposed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(sleep);
          sleepers = sleepers.filter((other) => other !== wake);
          resolve();
        };
        const sleep = setTimeout(wake, ms);
        sleepers.push(wake);
      });
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      release();
      const woken = sleepers;
      sleepers = [];
      for (const wake of woken) wake();
    },
  };
}
