import type { Database, SqlStatement, Transaction } from '@cads/storage';

/** What a transaction meets while its service is "crashed". */
export class SimulatedCrash extends Error {
  constructor(service: string) {
    super(`${service} crashed before its commit (simulated)`);
    this.name = 'SimulatedCrash';
  }
}

/** A service's database that can make the service "crash" at its next commits. */
export interface CrashableDatabase {
  readonly db: Database;
  /**
   * From now until `recover`, no transaction commits: each fails at its commit, as if the
   * process had died just before it. Statements outside transactions still run: what the
   * process did before (reads, external calls) stays done, which is the point.
   */
  crash(): void;
  recover(): void;
}

/**
 * Wraps a service's database so the saga property kit can crash the service between its work
 * and its commit: its external calls have happened, its state and events have not.
 */
export function crashableDatabase(inner: Database, service: string): CrashableDatabase {
  let crashed = false;
  const db: Database = {
    dialect: inner.dialect,
    schema: inner.schema,
    query<Row>(statement: SqlStatement | string, values?: readonly unknown[]) {
      return inner.query<Row>(statement, values);
    },
    transaction<T>(work: (tx: Transaction) => Promise<T>) {
      if (crashed) return Promise.reject(new SimulatedCrash(service));
      return inner.transaction(async (tx) => {
        const result = await work(tx);
        // A crash that begins while the work runs also stops its commit.
        if (crashed) throw new SimulatedCrash(service);
        return result;
      });
    },
    listen: (channel, onNotify) => inner.listen(channel, onNotify),
    close: () => inner.close(),
  };
  return {
    db,
    crash: () => (crashed = true),
    recover: () => (crashed = false),
  };
}
