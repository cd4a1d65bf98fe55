import { isSqlError, type Queryable, sql, type SqlIdentifier } from '@cads/storage';

/** A message as stored in `broker_log`. */
export interface LogEntry {
  readonly id: string;
  readonly type: string;
  readonly key: string | null;
  readonly payload: string;
}

/**
 * Appends `entries` to the log in array order and notifies `channel` when it commits (see
 * `broker_publish`). One round trip. Entries whose id is already stored are skipped.
 */
export async function appendToLog(
  db: Queryable,
  entries: readonly LogEntry[],
  channel: string,
  notifyPrefix: string,
  schema?: SqlIdentifier,
): Promise<void> {
  const qualifier = schema ? sql`${schema}.` : sql``;
  await db.query(sql`
    select ${qualifier}broker_publish(${entries.map((e) => e.id)}::text[], ${entries.map((e) => e.type)}::text[],
                          ${entries.map((e) => e.key)}::text[], ${entries.map((e) => e.payload)}::text[],
                          ${channel}, ${notifyPrefix})`);
}

/**
 * Creates the group if it does not exist (concurrent creators get the same row). A new
 * competing group starts at the oldest retained entry; a broadcast group at the current head.
 */
export async function ensureGroup(
  db: Queryable,
  name: string,
  broadcast: boolean,
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(sql`
    insert into broker_group (name, broadcast, read_position)
    values (${name}, ${broadcast},
            case when ${broadcast}::boolean then (select position from broker_head) else 0 end)
    on conflict (name) do update set seen_at = now()
    returning id`);
  const id = rows[0]?.id;
  if (id === undefined) throw new Error(`cads.broker: could not create group ${name}`);
  return id;
}

/**
 * Messages of `types` the competing group `group` has not settled: its deliveries of those
 * types (unclaimed, in flight or waiting for a retry) plus the log entries of those types past
 * its read position, from 0 for a group not created yet. One statement, so one snapshot: an
 * entry a concurrent fetch copies into the group is counted once. Both parts use an index
 * (`broker_delivery` primary key, `broker_log_type_position`); the second is a range count, so
 * it grows with the backlog.
 */
export async function countPending(
  db: Queryable,
  group: string,
  types: readonly string[],
): Promise<number> {
  const { rows } = await db.query<{ pending: number }>(sql`
    with wanted as (
      select distinct t.type from unnest(${types}::text[]) as t(type)
    ), grp as (
      select g.id, g.read_position from broker_group g where g.name = ${group} and not g.broadcast
    )
    select
      (select count(*) from broker_delivery d
       join broker_log l on l.position = d.position
       where d.group_id = (select id from grp) and l.type in (select type from wanted))
      + (select count(*) from wanted w
         cross join lateral (
           select 1 from broker_log e
           where e.type = w.type and e.position > coalesce((select read_position from grp), 0)
         ) beyond)
      as pending`);
  return rows[0]?.pending ?? 0;
}

export interface FetchRequest {
  readonly groupId: number;
  readonly types: readonly string[];
  readonly limit: number;
  readonly window: number;
  readonly claimMs: number;
}

export interface ClaimedRow {
  readonly position: number;
  readonly attempts: number;
  readonly payload: string;
}

/** Claims up to `limit` deliveries for the group (see `broker_fetch`). One round trip. */
export async function fetchDeliveries(db: Queryable, request: FetchRequest): Promise<ClaimedRow[]> {
  const { rows } = await db.query<ClaimedRow>(sql`
    select r_position as position, r_attempts as attempts, r_payload as payload
    from broker_fetch(${request.groupId}::bigint, ${request.types}::text[], ${request.limit}::int,
                      ${request.window}::int, ${request.claimMs}::int)`);
  return rows;
}

/** Whether `error` says the group row is gone (e.g. an expired broadcast group). */
export function isMissingGroup(error: unknown): boolean {
  return isSqlError(error, 'P0002', 'cads.broker');
}

export interface SettleOp {
  readonly groupId: number;
  readonly position: number;
  readonly attempt: number;
  /** `null` removes the delivery (ack, reject); a number makes it visible again after that. */
  readonly delayMs: number | null;
}

/**
 * Settles a batch in one round trip (see `broker_settle`). Returns the groups in which a
 * removal unblocked the next delivery of its key: only they have new work to fetch.
 */
export async function settleDeliveries(
  db: Queryable,
  ops: readonly SettleOp[],
): Promise<ReadonlySet<number>> {
  const { rows } = await db.query<{ group_id: number | string }>(sql`
    select group_id from broker_settle(${ops.map((o) => o.groupId)}::bigint[],
                         ${ops.map((o) => o.position)}::bigint[],
                         ${ops.map((o) => o.attempt)}::int[], ${ops.map((o) => o.delayMs)}::float8[])`);
  return new Set(rows.map((row) => Number(row.group_id)));
}

export interface Claim {
  readonly groupId: number;
  readonly position: number;
  readonly attempt: number;
}

/**
 * Gives claims back so another member can take them now rather than after the ack timeout.
 * `undoAttempt` is for claims never handed to a handler: they do not count as an attempt.
 */
export async function releaseClaims(
  db: Queryable,
  claims: readonly Claim[],
  undoAttempt: boolean,
): Promise<void> {
  if (claims.length === 0) return;
  await db.query(sql`
    update broker_delivery d
    set claimed_until = null, attempts = d.attempts - ${undoAttempt ? 1 : 0}::int
    from unnest(${claims.map((c) => c.groupId)}::bigint[], ${claims.map((c) => c.position)}::bigint[],
                ${claims.map((c) => c.attempt)}::int[]) as i(group_id, position, attempt)
    where d.group_id = i.group_id and d.position = i.position and d.attempts = i.attempt`);
}

export interface Renewal extends Claim {
  /** The lease from now on. */
  readonly claimMs: number;
}

/**
 * Extends the claims that are still held on the attempt they were made for (one that lapsed
 * and was taken by another member is left alone). One round trip; returns the renewed claims
 * as `group:position:attempt` keys.
 */
export async function renewClaims(
  db: Queryable,
  renewals: readonly Renewal[],
): Promise<ReadonlySet<string>> {
  if (renewals.length === 0) return new Set();
  const { rows } = await db.query<{
    group_id: number | string;
    position: number | string;
    attempts: number;
  }>(sql`
    update broker_delivery d
    set claimed_until = now() + i.claim_ms * interval '1 millisecond'
    from unnest(${renewals.map((r) => r.groupId)}::bigint[], ${renewals.map((r) => r.position)}::bigint[],
                ${renewals.map((r) => r.attempt)}::int[], ${renewals.map((r) => r.claimMs)}::float8[])
         as i(group_id, position, attempt, claim_ms)
    where d.group_id = i.group_id and d.position = i.position and d.attempts = i.attempt
      and d.claimed_until is not null
    returning d.group_id, d.position, d.attempts`);
  return new Set(
    rows.map((row) => claimKey(Number(row.group_id), Number(row.position), row.attempts)),
  );
}

export function claimKey(groupId: number, position: number, attempt: number): string {
  return `${groupId}:${position}:${attempt}`;
}

/** Frees every claim of every group (see `PostgresBroker.releaseAbandonedClaims`). */
export async function releaseAllClaims(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    sql`update broker_delivery set claimed_until = null where claimed_until > now()`,
  );
  return rowCount;
}

/** Deletes a group and its unsettled deliveries. */
export async function dropGroup(db: Queryable, groupId: number): Promise<void> {
  await db.query(sql`
    with dropped as (delete from broker_group where id = ${groupId}::bigint)
    delete from broker_delivery where group_id = ${groupId}::bigint`);
}

/**
 * Marks this process's groups as alive and deletes broadcast groups nobody has marked for
 * `expiryMs` (their process died), with their deliveries.
 */
export async function heartbeat(
  db: Queryable,
  groupIds: readonly number[],
  expiryMs: number,
): Promise<void> {
  await db.query(sql`
    with seen as (
      update broker_group set seen_at = now()
      where id in (select id from broker_group where id = any(${groupIds}::bigint[])
                   order by id for no key update)
    ), expired as (
      delete from broker_group
      where broadcast and seen_at < now() - ${expiryMs}::float8 * interval '1 millisecond'
        and not (id = any(${groupIds}::bigint[]))
      returning id
    )
    delete from broker_delivery d using expired e where d.group_id = e.id`);
}

/**
 * Deletes up to `batchSize` of the oldest log entries that are older than `olderThanMs` and
 * that every group has read and settled. Returns how many were deleted.
 */
export async function pruneLog(
  db: Queryable,
  olderThanMs: number,
  batchSize: number,
): Promise<number> {
  const { rowCount } = await db.query(sql`
    with horizon as (
      select least((select min(read_position) from broker_group),
                   (select min(position) - 1 from broker_delivery),
                   (select position from broker_head)) as position
    ), oldest as (
      select l.position, l.published_at from broker_log l, horizon h
      where l.position <= h.position
      order by l.position
      limit ${batchSize}::int
    )
    delete from broker_log l using oldest o
    where l.position = o.position
      and o.published_at < now() - ${olderThanMs}::float8 * interval '1 millisecond'`);
  return rowCount;
}

/** Reclaims the space of settled deliveries (and of pruned entries with `includeLog`). */
export async function vacuumBrokerTables(db: Queryable, includeLog: boolean): Promise<void> {
  // No parameters: sent as a simple query, which VACUUM needs (it cannot run in a transaction).
  await db.query(
    `vacuum broker_head, broker_group, broker_delivery${includeLog ? ', broker_log' : ''}`,
  );
}
