import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Coalesces writes: entries set while a write runs go together into the next one (the latest
 * value of a key wins), so thousands of arrivals cost a few statements. One write at a time; a
 * failed write is retried with backoff, its entries merged under newer ones.
 */
export interface CoalescedWriter<K, V> {
  /** Resolves once the write holding this entry succeeded (or the writer was stopped). */
  set(key: K, value: V): Promise<void>;
  /** Resolves when the latest entry of `key` is stored; `undefined` when nothing is pending. */
  pending(key: K): Promise<void> | undefined;
  /** Drops what is not written yet and resolves every waiter. */
  stop(): void;
}

interface Batch<K, V> {
  readonly entries: Map<K, V>;
  readonly written: Promise<void>;
  readonly resolve: () => void;
}

function newBatch<K, V>(): Batch<K, V> {
  let resolve: () => void = () => undefined;
  const written = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { entries: new Map(), written, resolve };
}

export function createCoalescedWriter<K, V>(
  write: (entries: ReadonlyMap<K, V>) => Promise<void>,
  onError: (error: unknown) => void,
): CoalescedWriter<K, V> {
  let collecting = newBatch<K, V>();
  const unwritten = new Map<K, Promise<void>>();
  let writing = false;
  let stopped = false;

  async function loop(): Promise<void> {
    writing = true;
    let delayMs = 50;
    while (collecting.entries.size > 0 && !stopped) {
      const batch = collecting;
      collecting = newBatch();
      try {
        await write(batch.entries);
        batch.resolve();
        delayMs = 50;
      } catch (error) {
        onError(error);
        for (const [key, value] of batch.entries) {
          if (!collecting.entries.has(key)) collecting.entries.set(key, value);
        }
        void collecting.written.then(batch.resolve);
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
    writing = false;
  }

  return {
    set(key, value) {
      stopped = false;
      collecting.entries.set(key, value);
      const { written } = collecting;
      unwritten.set(key, written);
      void written.then(() => {
        if (unwritten.get(key) === written) unwritten.delete(key);
      });
      if (!writing) void loop();
      return written;
    },
    pending: (key) => unwritten.get(key),
    stop() {
      stopped = true;
      unwritten.clear();
      collecting.resolve();
      collecting = newBatch();
    },
  };
}
