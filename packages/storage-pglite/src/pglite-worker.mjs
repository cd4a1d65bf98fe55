// The PGlite instance of one host, on its own worker thread (see `openPglite`), and the sequence
// its statements run in. Plain JavaScript: a worker thread starts without its parent's
// TypeScript loader (tsx, vitest).
//
// Requests (from `pglite-thread.ts`) run one at a time, in arrival order, except that a
// transaction, once begun, holds the instance: until it ends, only its own statements run and
// every other request waits. Requests are sent without waiting for earlier ones to finish, so
// the instance does not idle while the main thread is busy (a transaction's gaps aside).
//
// Requests: { id, op: 'begin', tx, schema } | { id, op: 'run', tx?, schema, text, params?,
// combine } | { id, op: 'end', tx, commit } | { id, op: 'listen', schema, channel, listener } |
// { id, op: 'unlisten', listener } | { id, op: 'close' }, where `schema` is { name, quoted }.
// Replies: { id, ok: true, value } | { id, ok: false, error } | { notify: listener, payload }.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PGlite, types } from '@electric-sql/pglite';

const parsers = {
  // int8 (counts, positions) as numbers, like the PostgreSQL adapter: exact below 2^53.
  [types.INT8]: (value) => Number(value),
};

/** The fields of a PostgreSQL error its callers look at (`code` above all): an Error's own
 * properties do not survive the trip between threads. */
function errorFields(error) {
  const fields = { message: String(error instanceof Error ? error.message : error) };
  if (typeof error === 'object' && error !== null) {
    for (const name of ['code', 'detail', 'hint', 'constraint', 'table', 'column', 'schema']) {
      if (typeof error[name] === 'string') fields[name] = error[name];
    }
  }
  return fields;
}

// Rows and counts only: the field descriptions are not read, and copying them costs.
const slim = (result) => ({
  rows: result.rows,
  rowCount: result.rowCount,
  affectedRows: result.affectedRows,
});

const { dataDir } = workerData;
let pglite;
try {
  pglite = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), parsers });
  parentPort.postMessage({ id: 0, ok: true });
} catch (error) {
  parentPort.postMessage({ id: 0, ok: false, error: errorFields(error) });
}

/** The schema `search_path` is set to, or undefined when unknown (after a failure). */
let searchPath;
/** Requests outside transactions, and transactions' `begin`, in arrival order. */
const queue = [];
/** A transaction's own requests, by transaction id, until it ends. */
const transactions = new Map();
/** The transaction holding the instance: { id, schema, opening, pathSet, started }. */
let active;
let pumping = false;
const unlisteners = new Map();

const pathFor = (schema) =>
  searchPath === schema.name ? '' : `set search_path to ${schema.quoted}, public;\n`;

async function statement(request, lead) {
  const { text, params, combine } = request;
  // A prepared call (`combine`) shares its query string with the lead; anything else is sent
  // on its own: a statement such as VACUUM refuses to share one.
  if (combine) return (await pglite.exec(`${lead}${text}`)).map(slim);
  if (lead !== '') await pglite.exec(lead);
  if (params !== undefined) return slim(await pglite.query(text, params));
  return (await pglite.exec(text)).map(slim);
}

async function outside(request) {
  const { schema } = request;
  const lead = pathFor(schema);
  if (lead !== '' && !request.combine) {
    await pglite.exec(lead);
    searchPath = schema.name;
    return statement(request, '');
  }
  try {
    const value = await statement(request, lead);
    if (lead !== '') searchPath = schema.name;
    return value;
  } catch (error) {
    // A failed query string rolls its `set` back with it: the path is set again next time.
    if (lead !== '') searchPath = undefined;
    throw error;
  }
}

async function inside(request) {
  // BEGIN (and the path switch, after it: a rollback undoes both) rides on the first statement.
  const lead = active.opening;
  active.opening = '';
  if (lead !== '') active.started = true;
  return statement(request, lead);
}

async function end(request) {
  const { schema, pathSet, started } = active;
  active = undefined;
  transactions.delete(request.tx);
  if (!started) return undefined;
  try {
    await pglite.exec(request.commit ? 'commit' : 'rollback');
    if (pathSet) searchPath = request.commit ? schema.name : undefined;
  } catch (error) {
    if (pathSet) searchPath = undefined;
    throw error;
  }
  return undefined;
}

async function handle(request) {
  switch (request.op) {
    case 'begin': {
      const path = pathFor(request.schema);
      active = {
        id: request.tx,
        schema: request.schema,
        opening: `begin;\n${path}`,
        pathSet: path !== '',
        started: false,
      };
      return undefined;
    }
    case 'run':
      return request.tx === undefined ? outside(request) : inside(request);
    case 'end':
      return end(request);
    case 'listen': {
      const lead = pathFor(request.schema);
      if (lead !== '') {
        await pglite.exec(lead);
        searchPath = request.schema.name;
      }
      const { listener } = request;
      unlisteners.set(
        listener,
        await pglite.listen(request.channel, (payload) =>
          parentPort.postMessage({ notify: listener, payload }),
        ),
      );
      return undefined;
    }
    case 'unlisten': {
      const unlisten = unlisteners.get(request.listener);
      unlisteners.delete(request.listener);
      if (unlisten && !pglite.closed) await unlisten();
      return undefined;
    }
    case 'close':
      await pglite.close();
      return undefined;
    default:
      throw new Error(`unknown request ${String(request.op)}`);
  }
}

/**
 * How long an open transaction's next statement is awaited by polling the port rather than by
 * sleeping until the message wakes the thread. The transaction holds the instance meanwhile, and
 * the wake-up alone costs about 0.1 ms, paid twice per statement (there and back): polling for a
 * moment keeps the instance busy (measured: +12-15 % sagas/s on the embedded saga benchmark).
 * It never runs outside a transaction, and it is bounded per wait.
 */
const pollMs = 0.2;

function next() {
  if (active === undefined) return queue.shift();
  const own = transactions.get(active.id);
  if (own.length === 0) {
    const until = performance.now() + pollMs;
    while (own.length === 0 && performance.now() < until) {
      const received = receiveMessageOnPort(parentPort);
      if (received) accept(received.message);
    }
  }
  return own.shift();
}

async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    for (let request = next(); request !== undefined; request = next()) {
      try {
        const value = await handle(request);
        parentPort.postMessage({ id: request.id, ok: true, value });
      } catch (error) {
        parentPort.postMessage({ id: request.id, ok: false, error: errorFields(error) });
      }
    }
  } finally {
    pumping = false;
  }
}

function accept(request) {
  if (pglite === undefined) {
    parentPort.postMessage({
      id: request.id,
      ok: false,
      error: { message: 'PGlite did not start' },
    });
    return;
  }
  if (request.op === 'begin') transactions.set(request.tx, []);
  if ((request.op === 'run' && request.tx !== undefined) || request.op === 'end') {
    const own = transactions.get(request.tx);
    if (own === undefined) {
      parentPort.postMessage({
        id: request.id,
        ok: false,
        error: { message: 'no such transaction' },
      });
      return;
    }
    own.push(request);
  } else {
    queue.push(request);
  }
}

parentPort.on('message', (request) => {
  accept(request);
  void pump();
});
