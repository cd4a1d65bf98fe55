import { describe, expect, it } from 'vitest';
import { createKeyLanes } from './key-lanes.ts';

interface Item {
  readonly key: string | undefined;
  readonly n: number;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('key lanes', () => {
  it('runs the items of one key one at a time, in push order, while other keys run alongside', async () => {
    const running = new Set<string>();
    const handled = new Map<string, number[]>();
    let overlap = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const lanes = createKeyLanes<Item>({
      keyOf: (item) => item.key,
      maxBatches: 4,
      maxBatchSize: 1,
      run: async ([item]) => {
        const key = item!.key!;
        if (running.has(key)) overlap += 1;
        running.add(key);
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick();
        handled.set(key, [...(handled.get(key) ?? []), item!.n]);
        running.delete(key);
        concurrent -= 1;
      },
    });
    for (let n = 0; n < 20; n += 1)
      for (const key of ['a', 'b', 'c', 'd', 'e']) lanes.push({ key, n });
    await lanes.idle();
    expect(overlap).toBe(0);
    expect(maxConcurrent).toBe(4);
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      expect(handled.get(key)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    }
    expect(lanes.size).toBe(0);
  });

  it('batches items of distinct keys that arrive together, never two of one key', async () => {
    const batches: Item[][] = [];
    const lanes = createKeyLanes<Item>({
      keyOf: (item) => item.key,
      maxBatches: 1,
      maxBatchSize: 3,
      run: async (batch) => {
        batches.push(batch);
        await tick();
      },
    });
    const items: Item[] = [
      { key: 'a', n: 1 },
      { key: 'a', n: 2 },
      { key: 'b', n: 3 },
      { key: undefined, n: 4 },
      { key: undefined, n: 5 },
      { key: 'c', n: 6 },
    ];
    for (const item of items) lanes.push(item);
    await lanes.idle();
    expect(batches.map((batch) => batch.map((item) => item.n))).toEqual([
      [1, 3, 4],
      [5, 6, 2],
    ]);
  });

  it('reports idle at once when empty, and again after new work finishes', async () => {
    let done = 0;
    const lanes = createKeyLanes<Item>({
      keyOf: (item) => item.key,
      maxBatches: 2,
      maxBatchSize: 8,
      run: async (batch) => {
        await tick();
        done += batch.length;
      },
    });
    await lanes.idle();
    lanes.push({ key: 'x', n: 1 });
    await lanes.idle();
    expect(done).toBe(1);
  });

  it('moves a key on as soon as its item is done, while the rest of its batch still runs', async () => {
    const started: string[] = [];
    let releaseSlow: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    const lanes = createKeyLanes<Item>({
      keyOf: (item) => item.key,
      maxBatches: 2,
      maxBatchSize: 2,
      run: async (batch, done) => {
        started.push(...batch.map((item) => `${item.key}${item.n}`));
        for (const item of batch) if (item.key === 'b') done(item);
        if (batch.some((item) => item.key === 'a')) await slow;
      },
    });
    lanes.push({ key: 'a', n: 0 });
    lanes.push({ key: 'b', n: 0 });
    lanes.push({ key: 'a', n: 1 });
    lanes.push({ key: 'b', n: 1 });
    await tick();
    await tick();
    // b1 ran while the batch of a0 (and b0) was still running; a1 waits for a0.
    expect(started).toEqual(['a0', 'b0', 'b1']);
    let idle = false;
    void lanes.idle().then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    releaseSlow();
    await lanes.idle();
    expect(started).toEqual(['a0', 'b0', 'b1', 'a1']);
  });
});
