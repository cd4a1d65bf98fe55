import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ConnectionGroup, Transport, WorkerCommand, WorkerReport } from './protocol.ts';

const workerPath = fileURLToPath(new URL('./client-worker.ts', import.meta.url));

/** Sockets per worker: half of a process's file limit here (20 000), leaving room to spare. */
export const connectionsPerWorker = 10_000;

/**
 * Workers' scheduling priority (nice). On a machine of two cores the load generator would
 * otherwise take half of the CPU the measured BFF needs; the clients' own delay in reading
 * stays in the figures.
 */
export const workerNice = 10;

export interface OpenResult {
  readonly opened: number;
  readonly failed: number;
  readonly firstError: string | undefined;
}

export interface Collected {
  readonly latenciesMs: number[];
  readonly received: number;
  readonly connections: number;
  readonly droppedConnections: number;
}

type ReportOf<K extends WorkerReport['kind']> = Extract<WorkerReport, { kind: K }>;

/** One forked worker and the reports it has sent that nobody took yet. */
class Worker {
  readonly #child: ChildProcess;
  readonly #waiting: { kind: string; take: (report: WorkerReport) => void }[] = [];
  #exited: Error | undefined;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (report: WorkerReport) => {
      const index = this.#waiting.findIndex((waiter) => waiter.kind === report.kind);
      if (index !== -1) this.#waiting.splice(index, 1)[0]?.take(report);
    });
    child.once('exit', (code, signal) => {
      this.#exited = new Error(`client worker ${child.pid} exited (${signal ?? code})`);
      for (const waiter of this.#waiting.splice(0)) waiter.take({ kind: 'closed' });
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  send(command: WorkerCommand): void {
    if (this.#exited) throw this.#exited;
    this.#child.send(command);
  }

  /** The next report of `kind`; rejects if the worker exits first. */
  next<K extends WorkerReport['kind']>(kind: K): Promise<ReportOf<K>> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#waiting.push({
        kind,
        take: (report) => {
          if (report.kind === kind) resolve(report as ReportOf<K>);
          else reject(this.#exited ?? new Error(`expected ${kind}, got ${report.kind}`));
        },
      });
    });
  }

  async stop(): Promise<void> {
    if (this.#exited || this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.disconnect();
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

/** Splits the groups' connections over `parts` workers, as evenly as possible, in order. */
export function splitGroups(
  groups: readonly ConnectionGroup[],
  parts: number,
): ConnectionGroup[][] {
  const total = groups.reduce((sum, group) => sum + group.count, 0);
  const room = Array.from(
    { length: parts },
    (_, part) => Math.floor(total / parts) + (part < total % parts ? 1 : 0),
  );
  const shares: ConnectionGroup[][] = Array.from({ length: parts }, () => []);
  let part = 0;
  for (const group of groups) {
    for (let left = group.count; left > 0;) {
      while ((room[part] ?? 1) === 0) part += 1;
      const count = Math.min(left, room[part] ?? left);
      shares[part]?.push({ ...group, count });
      room[part] = (room[part] ?? 0) - count;
      left -= count;
    }
  }
  return shares;
}

/**
 * The client side of the benchmark: worker processes that each hold a share of the
 * connections (a process may open at most 20 000 files here), driven over IPC.
 */
export class ClientPool {
  readonly #workers: Worker[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  /** Enough workers for `connections` (at least two). */
  static start(connections: number): ClientPool {
    const count = Math.max(2, Math.ceil(connections / connectionsPerWorker));
    return new ClientPool(
      Array.from({ length: count }, () => {
        const child = fork(workerPath, [], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          serialization: 'advanced',
        });
        if (child.pid !== undefined) setPriority(child.pid, workerNice);
        return new Worker(child);
      }),
    );
  }

  get size(): number {
    return this.#workers.length;
  }

  get pids(): number[] {
    return this.#workers.map((worker) => worker.pid);
  }

  /** Opens the groups' connections, each counted open once its snapshot arrived. */
  async open(
    transport: Transport,
    bffUrl: string,
    groups: readonly ConnectionGroup[],
    options: { concurrency: number; timeoutMs: number },
  ): Promise<OpenResult> {
    const shares = splitGroups(groups, this.#workers.length);
    const results = await Promise.all(
      this.#workers.map((worker, index) => {
        const opened = worker.next('opened');
        worker.send({
          kind: 'open',
          transport,
          bffUrl,
          groups: shares[index] ?? [],
          concurrency: Math.ceil(options.concurrency / this.#workers.length),
          timeoutMs: options.timeoutMs,
        });
        return opened;
      }),
    );
    return {
      opened: results.reduce((sum, result) => sum + result.opened, 0),
      failed: results.reduce((sum, result) => sum + result.failed, 0),
      firstError: results.find((result) => result.firstError !== undefined)?.firstError,
    };
  }

  /** Resolves true once every connection received `count` saga events, false after `timeoutMs`. */
  async expect(count: number, timeoutMs: number): Promise<boolean> {
    const reached = Promise.all(
      this.#workers.map((worker) => {
        const next = worker.next('reached');
        worker.send({ kind: 'expect', count });
        return next;
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([reached.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async collect(): Promise<Collected> {
    const results = await Promise.all(
      this.#workers.map((worker) => {
        const next = worker.next('collected');
        worker.send({ kind: 'collect' });
        return next;
      }),
    );
    const sum = (pick: (result: ReportOf<'collected'>) => number) =>
      results.reduce((total, result) => total + pick(result), 0);
    return {
      latenciesMs: results.flatMap((result) => result.latenciesMs),
      received: sum((result) => result.received),
      connections: sum((result) => result.connections),
      droppedConnections: sum((result) => result.droppedConnections),
    };
  }

  /** Closes every connection; the workers stay for the next phase. */
  async closeConnections(): Promise<void> {
    await Promise.all(
      this.#workers.map((worker) => {
        const next = worker.next('closed');
        worker.send({ kind: 'close' });
        return next;
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.stop()));
  }

  /** Last resort (the benchmark is exiting): no waiting. */
  kill(): void {
    for (const worker of this.#workers) worker.kill();
  }
}
