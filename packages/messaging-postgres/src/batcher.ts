export interface Batcher<T, R = void> {
  /** Resolves with the write's result once the batch holding `items` is written; rejects if that failed. */
  add(items: readonly T[]): Promise<R>;
  /** Resolves when everything added so far has been written (or has failed). */
  drain(): Promise<void>;
}

interface Pending<T, R> {
  readonly items: readonly T[];
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces writes: what is added in the same event-loop turn, or while the previous batch is
 * in flight, goes out as one `write`. At most one batch is in flight, so under load batches
 * grow instead of round trips multiplying. A batch holds whole `add` calls, up to `maxItems`
 * (one call larger than that goes alone).
 */
export function createBatcher<T, R = void>(
  write: (items: T[]) => Promise<R>,
  maxItems: number,
): Batcher<T, R> {
  const queue: Pending<T, R>[] = [];
  let scheduled = false;
  let running: Promise<void> | undefined;

  const takeBatch = (): Pending<T, R>[] => {
    let count = 0;
    let taken = 0;
    for (const pending of queue) {
      if (taken > 0 && count + pending.items.length > maxItems) break;
      count += pending.items.length;
      taken += 1;
    }
    return queue.splice(0, taken);
  };

  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = takeBatch();
      try {
        const result = await write(batch.flatMap((pending) => pending.items));
        for (const pending of batch) pending.resolve(result);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
  };

  const schedule = (): void => {
    if (scheduled || running) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      running = flush().finally(() => {
        running = undefined;
        if (queue.length > 0) schedule();
      });
    });
  };

  return {
    add: (items) =>
      new Promise<R>((resolve, reject) => {
        queue.push({ items, resolve, reject });
        schedule();
      }),
    async drain() {
      while (scheduled || running || queue.length > 0) {
        await (running ?? new Promise<void>((resolve) => setImmediate(resolve)));
      }
    },
  };
}
