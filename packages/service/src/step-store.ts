import { sql, type Queryable, type SqlIdentifier } from '@cads/storage';
import type { StepRecord, StepStatus } from './step-decisions.ts';

/**
 * The records of a saga step service, in a table its own migrations create with at least:
 *
 * ```sql
 * create table <table> (
 *   order_id text primary key,
 *   user_id text not null,
 *   status smallint not null check (status in (0, 4, 5)),
 *   compensated_before_forward boolean not null default false,
 *   reason text,
 *   details jsonb,
 *   created_at timestamptz not null default now(),
 *   updated_at timestamptz not null default now()
 * );
 * ```
 *
 * The primary key makes the first writer of an order's record win; the others see it.
 */
export interface StepStore {
  readonly table: string;
  /** The record, or undefined. Inside a transaction, `lock` holds it until commit. */
  find(db: Queryable, orderId: string, lock?: boolean): Promise<StepRecord | undefined>;
  /** Status of the order's record, -1 when there is none (tests and tools). */
  status(db: Queryable, orderId: string): Promise<number>;
  /** Inserts the first record of an order; false when one exists already (nothing written). */
  insert(db: Queryable, record: NewStepRecord): Promise<boolean>;
  /** Succeeded → compensated. False when the record was not in status 0. */
  markCompensated(db: Queryable, orderId: string): Promise<boolean>;
}

export interface NewStepRecord {
  readonly orderId: string;
  readonly userId: string;
  readonly status: StepStatus;
  readonly compensatedBeforeForward?: boolean;
  /** Why the step was rejected. */
  readonly reason?: string;
  /** The external system's answer, kept for inspection. */
  readonly details?: unknown;
}

interface Row {
  status: number;
  compensated_before_forward: boolean;
}

export function createStepStore(table: string): StepStore {
  const name: SqlIdentifier = sql.id(table);
  return {
    table,
    async find(db, orderId, lock = false) {
      const { rows } = await db.query<Row>(
        sql`select status, compensated_before_forward from ${name} where order_id = ${orderId}
            ${sql.raw(lock ? 'for update' : '')}`,
      );
      const row = rows[0];
      return (
        row && {
          status: toStatus(row.status),
          compensatedBeforeForward: row.compensated_before_forward,
        }
      );
    },
    async status(db, orderId) {
      const { rows } = await db.query<{ status: number }>(
        sql`select status from ${name} where order_id = ${orderId}`,
      );
      return rows[0]?.status ?? -1;
    },
    async insert(db, record) {
      const { rowCount } = await db.query(
        sql`insert into ${name} (order_id, user_id, status, compensated_before_forward, reason, details)
            values (${record.orderId}, ${record.userId}, ${record.status},
                    ${record.compensatedBeforeForward ?? false}, ${record.reason ?? null},
                    ${record.details === undefined ? null : JSON.stringify(record.details)}::jsonb)
            on conflict (order_id) do nothing`,
      );
      return rowCount > 0;
    },
    async markCompensated(db, orderId) {
      const { rowCount } = await db.query(
        sql`update ${name} set status = 5, updated_at = now()
            where order_id = ${orderId} and status = 0`,
      );
      return rowCount > 0;
    },
  };
}

function toStatus(value: number): StepStatus {
  if (value === 0 || value === 4 || value === 5) return value;
  throw new Error(`unexpected step status ${value}`);
}
