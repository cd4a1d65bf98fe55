import { type Database, loadMigrations, migrate, type Queryable, sql } from '@cads/storage';
import type { StepRecord, StepStatus } from './step-decisions.ts';

const migrationsDirectory = new URL('../migrations/saga-steps/', import.meta.url);

/**
 * Creates or upgrades the saga step runtime's table (`cads_saga_steps`) in the database's
 * schema. Idempotent and safe when several instances start at once. A step service lists it in
 * its definition's `runtimeTables`, so it exists before the service's own migrations run (which
 * may move older rows into it).
 */
export async function installSagaStepTables(db: Database): Promise<void> {
  await migrate(db, 'cads.saga-step', await loadMigrations(migrationsDirectory));
}

/** A step's record, with the input it was decided on (absent for a tombstone). */
export interface StoredStepRecord extends StepRecord {
  readonly input?: unknown;
}

/**
 * The records of one saga step, one per saga, in `cads_saga_steps` (see
 * `migrations/001_saga_steps.sql`). The primary key (step, saga id) makes the first writer of a
 * saga's record win; the others see it.
 */
export interface StepStore {
  /** The step's name, e.g. in error messages. */
  readonly step: string;
  /** The record, or undefined. Inside a transaction, `lock` holds it until commit. */
  find(db: Queryable, sagaId: string, lock?: boolean): Promise<StoredStepRecord | undefined>;
  /** Inserts the first record of a saga; false when one exists already (nothing written). */
  insert(db: Queryable, record: NewStepRecord): Promise<boolean>;
  /** Succeeded → compensated, keeping the failure that caused it. False unless it had succeeded. */
  markCompensated(db: Queryable, sagaId: string, cause: unknown): Promise<boolean>;
}

export type NewStepRecord =
  | {
      readonly sagaId: string;
      readonly status: 'succeeded' | 'rejected';
      /** The validated forward input. */
      readonly input: unknown;
      /** Why the step was rejected. */
      readonly reason?: string;
      /** The external system's answer, kept for inspection. */
      readonly details?: unknown;
    }
  | {
      readonly sagaId: string;
      readonly status: 'compensated';
      /** A tombstone: the compensation came first. */
      readonly compensatedBeforeForward: true;
      /** The failure event's data. */
      readonly cause: unknown;
    };

interface Row {
  status: string;
  tombstone: boolean;
  input: unknown;
}

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

export function createStepStore(step: string): StepStore {
  return {
    step,
    async find(db, sagaId, lock = false) {
      const { rows } = await db.query<Row>(
        sql`select status, tombstone, input from cads_saga_steps
            where step = ${step} and saga_id = ${sagaId} ${sql.raw(lock ? 'for update' : '')}`,
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        status: toStatus(row.status),
        compensatedBeforeForward: row.tombstone,
        ...(row.input === null ? {} : { input: row.input }),
      };
    },
    async insert(db, record) {
      const tombstone = record.status === 'compensated';
      const { rowCount } = await db.query(
        sql`insert into cads_saga_steps (step, saga_id, status, tombstone, input, cause, reason, details)
            values (${step}, ${record.sagaId}, ${record.status}, ${tombstone},
                    ${tombstone ? null : json(record.input)}::jsonb,
                    ${tombstone ? json(record.cause) : null}::jsonb,
                    ${tombstone ? null : (record.reason ?? null)},
                    ${tombstone ? null : json(record.details)}::jsonb)
            on conflict (step, saga_id) do nothing`,
      );
      return rowCount > 0;
    },
    async markCompensated(db, sagaId, cause) {
      const { rowCount } = await db.query(
        sql`update cads_saga_steps
            set status = 'compensated', cause = ${json(cause)}::jsonb, updated_at = now()
            where step = ${step} and saga_id = ${sagaId} and status = 'succeeded'`,
      );
      return rowCount > 0;
    },
  };
}

/** The step's status for a saga, undefined without a record (tests and tools). */
export async function readStepStatus(
  db: Queryable,
  step: string,
  sagaId: string,
): Promise<StepStatus | undefined> {
  const { rows } = await db.query<{ status: string }>(
    sql`select status from cads_saga_steps where step = ${step} and saga_id = ${sagaId}`,
  );
  return rows[0] && toStatus(rows[0].status);
}

function toStatus(value: string): StepStatus {
  if (value === 'succeeded' || value === 'rejected' || value === 'compensated') return value;
  throw new Error(`unexpected step status ${value}`);
}
