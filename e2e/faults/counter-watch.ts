import { sleep } from '@cads/messaging/testing';

/**
 * Sums a Prometheus counter over processes that restart: each process's `/metrics` is read every
 * second, and a value lower than the last one seen means a new process (its predecessor's count
 * is kept). What a process counted between its last reading and its death is missed.
 */
export function counterWatch(
  urls: () => readonly string[],
  pattern: RegExp,
  headers: Record<string, string> = {},
) {
  const last = new Map<string, number>();
  let banked = 0;
  let stopped = false;
  const read = async (url: string) => {
    const response = await fetch(`${url}/metrics`, {
      headers,
      signal: AbortSignal.timeout(2_000),
    });
    const text = await response.text();
    return text
      .split('\n')
      .filter((line) => pattern.test(line))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };
  const loop = (async () => {
    while (!stopped) {
      for (const url of urls()) {
        const value = await read(url).catch(() => undefined);
        if (value === undefined) continue;
        const before = last.get(url) ?? 0;
        if (value < before) banked += before;
        last.set(url, value);
      }
      await sleep(1_000);
    }
  })();
  return {
    /** Stops watching and returns the sum. */
    async total() {
      stopped = true;
      await loop;
      return banked + [...last.values()].reduce((sum, value) => sum + value, 0);
    },
  };
}
