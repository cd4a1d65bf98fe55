import { Worker } from 'node:worker_threads';
import type { SqlIdentifier } from '@cads/storage';

/** A statement's result as the worker sends it back. */
export interface ThreadResult {
  readonly rows: unknown[];
  readonly rowCount?: number;
  readonly affectedRows?: number;
}

/** The requests `pglite-worker.mjs` runs (see its header for their order). */
export type ThreadRequest =
  | { readonly op: 'begin'; readonly tx: number; readonly schema: SqlIdentifier }
  | {
      readonly op: 'run';
      /** Absent outside a transaction. */
      readonly tx?: number | undefined;
      readonly schema: SqlIdentifier;
      readonly text: string;
      /** Prepared call: sent in one query string with the search path switch. */
      readonly combine: boolean;
      readonly params?: unknown[];
    }
  | { readonly op: 'end'; readonly tx: number; readonly commit: boolean };

/** The PGlite instance on its worker thread. */
export interface PgliteThread {
  /** Hands `request` to the worker at once; settles when it has run. */
  run<T = unknown>(request: ThreadRequest): Promise<T>;
  /** A fresh transaction id for `begin`. */
  transactionId(): number;
  /** Listens on `channel` with `schema`'s search path; resolves to the function that stops. */
  listen(
    schema: SqlIdentifier,
    channel: string,
    onNotify: (payload: string) => void,
  ): Promise<() => Promise<void>>;
  /** Runs what was handed over before, closes the instance and ends the thread. */
  close(): Promise<void>;
}

interface Reply {
  readonly id?: number;
  readonly ok?: boolean;
  readonly value?: unknown;
  readonly error?: { readonly message: string } & Record<string, string>;
  readonly notify?: number;
  readonly payload?: string;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** A PostgreSQL error as thrown on the worker: its message and fields (`code`, …). */
function toError(fields: Reply['error']): Error {
  return Object.assign(new Error(fields?.message ?? 'PGlite failed'), fields ?? {});
}

/** Starts the worker and resolves once its PGlite instance is open. */
export async function startPgliteThread(dataDir: string | undefined): Promise<PgliteThread> {
  // Without the parent's flags: the worker is plain JavaScript and needs no loader.
  const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
    workerData: { dataDir },
    execArgv: [],
  });
  // Id 0 is the worker's "open" (or its failure to open).
  const pending = new Map<number, Pending>();
  const listeners = new Map<number, (payload: string) => void>();
  let next = 1;
  let ended: Error | undefined;

  // The thread keeps the process alive only while something waits on it, like a socket.
  const settle = (id: number) => {
    const call = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    return call;
  };
  const fail = (error: Error) => {
    ended ??= error;
    for (const call of pending.values()) call.reject(ended);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    if (reply.notify !== undefined) {
      listeners.get(reply.notify)?.(reply.payload ?? '');
      return;
    }
    if (reply.id === undefined) return;
    const call = settle(reply.id);
    if (reply.ok) call?.resolve(reply.value);
    else call?.reject(toError(reply.error));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the PGlite thread has ended (exit code ${code})`)));

  const send = <T>(request: Record<string, unknown>, id = next++): Promise<T> => {
    if (ended) return Promise.reject(ended);
    return new Promise<T>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // `id` 0 is only awaited, never sent.
      if (id !== 0) worker.postMessage({ ...request, id });
    });
  };
  const wire = (schema: SqlIdentifier) => ({ name: schema.name, quoted: schema.quoted });

  try {
    await send({}, 0);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    run: (request) =>
      send('schema' in request ? { ...request, schema: wire(request.schema) } : request),
    transactionId: () => next++,
    async listen(schema, channel, onNotify) {
      const listener = next++;
      listeners.set(listener, onNotify);
      try {
        await send({ op: 'listen', schema: wire(schema), channel, listener });
      } catch (error) {
        listeners.delete(listener);
        throw error;
      }
      return async () => {
        if (!listeners.delete(listener) || ended) return;
        await send({ op: 'unlisten', listener });
      };
    },
    async close() {
      if (ended) return;
      await send({ op: 'close' });
      ended = new Error('PGlite is closed');
      await worker.terminate();
    },
  };
}
