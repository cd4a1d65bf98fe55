import type { Delivery, DeliveryHandler } from '@cads/messaging';
import type { Queryable } from '@cads/storage';
import type { Logger } from '@cads/messaging';
import type { Batcher } from './batcher.ts';
import {
  type Claim,
  type ClaimedRow,
  claimKey,
  ensureGroup,
  fetchDeliveries,
  isMissingGroup,
  releaseClaims,
  type Renewal,
  type SettleOp,
} from './statements.ts';

export interface SubscriptionConfig {
  readonly db: Queryable;
  readonly settler: Batcher<SettleOp, ReadonlySet<number>>;
  /** Extends leases (`Delivery.working`); resolves with the renewed claims' keys. */
  readonly renewer: Batcher<Renewal, ReadonlySet<string>>;
  readonly log: Logger;
  /** The stored group name (a broadcast group's is unique to its subscription). */
  readonly groupName: string;
  readonly groupId: number;
  readonly broadcast: boolean;
  readonly types: readonly string[];
  readonly maxInFlight: number;
  readonly ackTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** Two fetches of this subscription start at least this far apart. */
  readonly fetchIntervalMs: number;
  readonly handlerErrorRetryMs: number;
  /** False once the broker is closed: settling is then refused. */
  readonly isOpen: () => boolean;
}

export interface RunningSubscription {
  readonly broadcast: boolean;
  readonly types: ReadonlySet<string>;
  /** The group's current row id (it changes if an expired group had to be recreated). */
  groupId(): number;
  /** Something may be claimable: fetch again as soon as possible. */
  wake(): void;
  /** Ends the fetch loop; resolves after the handler's last call. */
  stop(): Promise<void>;
  /** Deliveries handed over and neither settled nor lapsed. */
  unsettled(): Claim[];
}

/** Copying more of a backlog per group only costs writes; fewer risks head-of-line blocking. */
const minWindow = 1_000;
const maxBackoffMs = 5_000;
/** Timers fire a little late rather than before the database considers a row due. */
const timerSlackMs = 5;
const maxTimerMs = 2 ** 31 - 1;

export class BrokerClosedError extends Error {
  override readonly name = 'BrokerClosedError';
}

/**
 * Runs one subscription's fetch loop: claim up to `maxInFlight - inFlight` deliveries in one
 * round trip, hand them to the handler in position order, fetch again when woken (notify,
 * local publish, settle, due retry or lapsed claim) or after `pollIntervalMs`. A failing fetch
 * is logged and retried with backoff; the loop only ends with `stop()`.
 */
export function startSubscription(
  config: SubscriptionConfig,
  handler: DeliveryHandler,
): RunningSubscription {
  const { db, settler, log, ackTimeoutMs } = config;
  let groupId = config.groupId;
  let stopped = false;
  let dirty = true;
  let waiter: (() => void) | undefined;
  let interruptPause: (() => void) | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  let dueAt = Number.POSITIVE_INFINITY;
  const dues = new Set<number>();
  const inFlight = new Map<number, Claim & { expiresAt: number }>();

  const wake = (): void => {
    dirty = true;
    const resolve = waiter;
    waiter = undefined;
    resolve?.();
  };

  const waitForWake = async (timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      waiter = resolve;
      timer = setTimeout(wake, timeoutMs);
    });
    clearTimeout(timer);
  };

  /** Keeps one timer, for the earliest due retry or lapsing claim of this subscription. */
  const refreshTimer = (): void => {
    let next = Number.POSITIVE_INFINITY;
    for (const at of dues) next = Math.min(next, at);
    for (const claim of inFlight.values()) next = Math.min(next, claim.expiresAt);
    if (stopped) next = Number.POSITIVE_INFINITY;
    if (next === dueAt) return;
    if (dueTimer) clearTimeout(dueTimer);
    dueTimer = undefined;
    dueAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(maxTimerMs, Math.max(0, next - Date.now()) + timerSlackMs);
    dueTimer = setTimeout(onDue, delay);
  };

  const onDue = (): void => {
    dueTimer = undefined;
    dueAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (const at of dues) if (at <= now) dues.delete(at);
    // A lapsed claim may be redelivered (possibly to us): it no longer takes a slot.
    for (const [position, claim] of inFlight) if (claim.expiresAt <= now) inFlight.delete(position);
    wake();
    refreshTimer();
  };

  const deliver = (row: ClaimedRow): void => {
    const claim = {
      groupId,
      position: row.position,
      attempt: row.attempts,
      expiresAt: Date.now() + ackTimeoutMs,
    };
    inFlight.set(row.position, claim);
    let settled = false;
    const settle = async (delayMs: number | null): Promise<void> => {
      if (settled) return;
      settled = true;
      if (!config.isOpen()) throw new BrokerClosedError('the broker is closed');
      // Fetch again only if this settle can have made something claimable: a slot freed when
      // the subscription was full, the next delivery of the key unblocked, or an immediate
      // retry (a later one has its timer). Anything else would be an empty fetch.
      const wasFull = inFlight.size >= config.maxInFlight;
      let unblocked = true;
      try {
        unblocked = (await settler.add([{ ...claim, delayMs }])).has(groupId);
      } finally {
        if (inFlight.get(claim.position) === claim) inFlight.delete(claim.position);
        if (!stopped) {
          if (delayMs !== null) dues.add(Date.now() + delayMs);
          refreshTimer();
          if (wasFull || unblocked || delayMs === 0) wake();
        }
      }
    };
    const working = async (): Promise<void> => {
      if (settled || !config.isOpen()) return;
      const requestedAt = Date.now();
      try {
        const renewed = await config.renewer.add([{ ...claim, claimMs: ackTimeoutMs }]);
        if (!renewed.has(claimKey(claim.groupId, claim.position, claim.attempt))) return;
        // Still ours: it does not lapse locally either (measured from the request, so the local
        // view never outlives the database's).
        if (inFlight.get(claim.position) === claim) {
          claim.expiresAt = requestedAt + ackTimeoutMs;
          refreshTimer();
        }
      } catch (error) {
        log.warn(
          { err: error, group: config.groupName, position: row.position },
          'could not renew a delivery lease; it may be redelivered',
        );
      }
    };
    const delivery: Delivery = {
      body: decodePayload(row.payload),
      attempt: row.attempts,
      ack: () => settle(null),
      reject: () => settle(null),
      retry: (delayMs) => settle(Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0),
      working,
    };
    const onHandlerError = (error: unknown): void => {
      log.warn(
        { err: error, group: config.groupName, position: row.position },
        'delivery handler threw; retrying the delivery',
      );
      delivery.retry(config.handlerErrorRetryMs).catch(() => undefined);
    };
    try {
      void Promise.resolve(handler(delivery)).catch(onHandlerError);
    } catch (error) {
      onHandlerError(error);
    }
  };

  const fetchOnce = async (capacity: number): Promise<ClaimedRow[]> => {
    try {
      return await fetchDeliveries(db, {
        groupId,
        types: config.types,
        limit: capacity,
        window: Math.max(minWindow, 2 * config.maxInFlight),
        claimMs: ackTimeoutMs,
      });
    } catch (error) {
      if (!isMissingGroup(error)) throw error;
      // Our broadcast group expired (e.g. the process was paused past the expiry): messages
      // published meanwhile are not delivered to it, as for any broadcast subscriber.
      log.warn({ group: config.groupName }, 'consumer group was missing; recreating it');
      groupId = await ensureGroup(db, config.groupName, config.broadcast);
      return [];
    }
  };

  let lastFetchAt = 0;
  const run = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      if (!dirty) {
        await waitForWake(config.pollIntervalMs);
        continue;
      }
      // Under load, wake-ups come faster than fetches are worth: spacing them lets one fetch
      // (a fixed cost, most of it not per row) take everything published meanwhile.
      const spacing = config.fetchIntervalMs - (Date.now() - lastFetchAt);
      if (spacing > 0) await pause(spacing);
      lastFetchAt = Date.now();
      dirty = false;
      const capacity = config.maxInFlight - inFlight.size;
      if (capacity <= 0) continue;
      let rows: ClaimedRow[];
      try {
        rows = await fetchOnce(capacity);
        failures = 0;
      } catch (error) {
        failures += 1;
        const backoffMs = Math.min(maxBackoffMs, 50 * 2 ** failures);
        log.error({ err: error, group: config.groupName, backoffMs }, 'broker fetch failed');
        await pause(backoffMs);
        dirty = true;
        continue;
      }
      // A handler may call stop(): what was fetched and not handed over is given back.
      const undelivered: ClaimedRow[] = [];
      for (const row of rows) {
        if (stopped) undelivered.push(row);
        else deliver(row);
      }
      if (undelivered.length > 0) {
        const claims = undelivered.map((row) => ({
          groupId,
          position: row.position,
          attempt: row.attempts,
        }));
        await releaseClaims(db, claims, true).catch((error: unknown) =>
          log.warn({ err: error, group: config.groupName }, 'could not release claims'),
        );
      }
      if (rows.length === capacity) dirty = true;
      refreshTimer();
    }
  };

  /** Backs off without reacting to wake-ups; only `stop()` cuts it short. */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      interruptPause = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = run().catch((error: unknown) => {
    log.error({ err: error, group: config.groupName }, 'broker fetch loop ended unexpectedly');
  });

  return {
    broadcast: config.broadcast,
    types: new Set(config.types),
    groupId: () => groupId,
    wake,
    async stop() {
      stopped = true;
      wake();
      interruptPause?.();
      await loop;
      refreshTimer();
    },
    unsettled: () =>
      [...inFlight.values()].map(({ groupId: id, position, attempt }) => ({
        groupId: id,
        position,
        attempt,
      })),
  };
}

/** Stored payloads are JSON; anything else is handed over as its text, for the consumer to reject. */
function decodePayload(payload: string): unknown {
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return payload;
  }
}
