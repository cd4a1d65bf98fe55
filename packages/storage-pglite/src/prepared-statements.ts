import { sqlLiteral } from '@cads/storage';

/**
 * Prepared statements for PGlite.
 *
 * Why: PGlite plans every parameterised statement anew and sends it as six protocol messages
 * (parse, describe, bind, describe, execute, sync), each a call into the WebAssembly instance.
 * A statement prepared once per schema and then run as `EXECUTE name('literal', …)` in one
 * simple-protocol message costs less than half as much (measured: 88 µs against 196 µs for a
 * primary-key lookup), which matters because every service of the embedded mode shares the
 * one thread PGlite runs on.
 *
 * Safety: parameters become SQL literals (`sqlLiteral`), never statement text; the host checks
 * `standard_conforming_strings` when it opens.
 *
 * Plans stay valid: a statement is prepared per (schema, text), so it always runs with the
 * search path it was planned with.
 *
 * Statements are handed to PGlite before earlier ones have run, so a statement is executed by
 * name only once its PREPARE is known to have succeeded: calls made meanwhile run as ordinary
 * queries (a PREPARE that failed would otherwise fail them with a misleading error).
 */
export class PreparedStatements {
  readonly #names = new Map<string, { readonly name: string; ready: boolean }>();
  readonly #limit: number;
  #next = 0;

  constructor(limit = 2_000) {
    this.#limit = limit;
  }

  /**
   * The simple-protocol text that runs `text` with `params` in `schema` (preparing it first on
   * its first use), or undefined when it cannot be used yet or the cache is full (run it as an
   * ordinary query). Call `settle` with the outcome once it has run.
   */
  render(schema: string, text: string, params: readonly unknown[]): PreparedCall | undefined {
    const key = `${schema}\u0000${text}`;
    const known = this.#names.get(key);
    if (known !== undefined && !known.ready) return undefined;
    if (known === undefined && this.#names.size >= this.#limit) return undefined;
    const literals = params.map(sqlLiteral).join(', ');
    // A failed call forgets its statement, which is then prepared again under a fresh name:
    // the failed PREPARE may or may not have taken effect.
    const forget = (ok: boolean) => {
      if (!ok) this.#names.delete(key);
    };
    if (known !== undefined) return { text: `execute ${known.name}(${literals})`, settle: forget };
    const entry = { name: `cads_stmt_${++this.#next}`, ready: false };
    this.#names.set(key, entry);
    return {
      text: `prepare ${entry.name} as ${text};\nexecute ${entry.name}(${literals})`,
      settle: (ok) => {
        if (ok && this.#names.get(key) === entry) entry.ready = true;
        forget(ok);
      },
    };
  }
}

export interface PreparedCall {
  readonly text: string;
  /** Call once the call has run: `ok` false when it failed (prepared again next time). */
  readonly settle: (ok: boolean) => void;
}
