import type { Broker } from '@cads/messaging';
import type { Database } from '@cads/storage';

/** A real storage + broker combination the runtime's integration suites run on. */
export interface RuntimeHarness {
  /** A service database in its own schema. Closed by the suite. */
  openDb(schema: string): Promise<Database>;
  /** A broker instance, as a process would open one. Closed by the suite. */
  connectBroker(): Promise<Broker>;
  dispose(): Promise<void>;
}
