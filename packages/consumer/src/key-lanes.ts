export interface KeyLanesOptions<T> {
  /** The ordering key of an item; items without one are never held back by another. */
  readonly keyOf: (item: T) => string | undefined;
  /** Batches running at the same time, at most. */
  readonly maxBatches: number;
  /** Items in one batch, at most. A batch never holds two items of the same key. */
  readonly maxBatchSize: number;
  /**
   * Processes a batch. Must not reject (errors are the caller's to handle inside). `done(item)`
   * may be called for an item finished before the rest of its batch: the next item of its key
   * can then start; the batch still counts as running until `run` resolves.
   */
  readonly run: (batch: T[], done: (item: T) => void) => Promise<void>;
}

export interface KeyLanes<T> {
  push(item: T): void;
  /** Items queued or running. */
  readonly size: number;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
}

/**
 * Per-key scheduling: items of one key run one at a time, in push order; items of different
 * keys run concurrently, grouped into batches of distinct keys, with at most `maxBatches`
 * batches at once. Batches form on the next turn of the event loop, so items pushed together
 * (a broker's fetch) travel together.
 */
export function createKeyLanes<T>(options: KeyLanesOptions<T>): KeyLanes<T> {
  const lanes = new Map<string | symbol, T[]>();
  const ready = new Set<string | symbol>();
  let size = 0;
  let running = 0;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];

  const pump = () => {
    scheduled = false;
    while (running < options.maxBatches && ready.size > 0) {
      const keys: Array<string | symbol> = [];
      for (const key of ready) {
        keys.push(key);
        if (keys.length === options.maxBatchSize) break;
      }
      const batch = keys.map((key) => {
        ready.delete(key);
        return (lanes.get(key) as T[])[0] as T;
      });
      running += 1;
      const open = new Set(batch.keys());
      const finish = (index: number) => {
        if (!open.delete(index)) return;
        const key = keys[index] as string | symbol;
        const lane = lanes.get(key) as T[];
        lane.shift();
        size -= 1;
        if (lane.length > 0) ready.add(key);
        else lanes.delete(key);
      };
      const done = (item: T) => {
        const index = [...open].find((candidate) => batch[candidate] === item);
        if (index !== undefined) finish(index);
        if (!scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
      };
      void options.run(batch, done).finally(() => {
        for (const index of [...open]) finish(index);
        running -= 1;
        pump();
        if (size === 0 && running === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  };

  return {
    push(item) {
      const key = options.keyOf(item) ?? Symbol('keyless');
      const lane = lanes.get(key);
      size += 1;
      if (lane) {
        lane.push(item);
      } else {
        lanes.set(key, [item]);
        ready.add(key);
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    },
    get size() {
      return size;
    },
    idle() {
      if (size === 0 && running === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
