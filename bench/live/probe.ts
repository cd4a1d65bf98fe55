import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';

/** The BFF process's memory after full garbage collections, and its open files. */
export interface MemorySample {
  /** `VmRSS` of /proc/<pid>/status. */
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** C++ objects tied to JS ones (sockets' native handles, buffers). */
  readonly externalBytes: number;
  readonly fds: number;
}

/** Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** CPU seconds (user + system) the process used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command: state, ppid, …, utime (12th), stime (13th).
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function statusBytes(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

export async function openFiles(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** A session on a process's inspector (started with `--inspect`). */
export interface Inspector {
  call(method: string, params?: object): Promise<unknown>;
  close(): void;
}

/**
 * Opens a session on the process's inspector: the process needs no admin route of its own to
 * be told to collect garbage, to report its heap or to profile.
 */
export async function openInspector(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl?: string;
  }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (e: Error) => void }
  >();
  socket.on('message', (raw: Buffer) => {
    const answer = JSON.parse(raw.toString('utf8')) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiter = answer.id === undefined ? undefined : pending.get(answer.id);
    if (!waiter || answer.id === undefined) return;
    pending.delete(answer.id);
    if (answer.error) waiter.reject(new Error(answer.error.message));
    else waiter.resolve(answer.result);
  });
  let nextId = 0;
  return {
    call: (method, params = {}) =>
      new Promise<unknown>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

async function withInspector<T>(
  port: number,
  use: (call: Inspector['call']) => Promise<T>,
): Promise<T> {
  const inspector = await openInspector(port);
  try {
    return await use((method, params) => inspector.call(method, params));
  } finally {
    inspector.close();
  }
}

/** Self time per function of a V8 CPU profile, the `top` heaviest, as text lines. */
export function summariseProfile(profile: unknown, top = 25): string[] {
  const { nodes, samples, timeDeltas } = profile as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  samples.forEach((id, index) => {
    const frame = byId.get(id)?.callFrame;
    const key = frame
      ? `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '')}:${frame.lineNumber + 1}`
      : '?';
    const micros = timeDeltas[index] ?? 0;
    self.set(key, (self.get(key) ?? 0) + micros);
    total += micros;
  });
  return [...self]
    .sort(([, a], [, b]) => b - a)
    .slice(0, top)
    .map(
      ([key, micros]) =>
        `${(micros / 1_000).toFixed(1).padStart(8)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`,
    );
}

/**
 * Full garbage collections until the heap stops shrinking, then the process's RSS, heap and
 * open files. RSS keeps pages the allocator has not returned, so it never reads lower than the
 * heap would suggest.
 */
export async function settledMemory(pid: number, inspectorPort: number): Promise<MemorySample> {
  const usage = await withInspector(inspectorPort, async (call) => {
    let last = Number.POSITIVE_INFINITY;
    let memory: NodeJS.MemoryUsage | undefined;
    for (let round = 0; round < 5; round++) {
      await call('HeapProfiler.collectGarbage');
      // Weak callbacks and finalizers (closed sockets' handles) run after the collection.
      await sleep(200);
      const result = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      memory = JSON.parse(result.result.value) as NodeJS.MemoryUsage;
      if (memory.heapUsed >= last * 0.99) break;
      last = memory.heapUsed;
    }
    if (!memory) throw new Error('no memory usage');
    return memory;
  });
  return {
    rssBytes: await statusBytes(pid, 'VmRSS'),
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    fds: await openFiles(pid),
  };
}
