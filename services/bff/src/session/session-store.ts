import { type Queryable, sql } from '@cads/storage';

/** When a session stops working. Both are measured on the database's clock. */
export interface SessionExpiry {
  /** Unused this long, a session is over. */
  readonly idleMs: number;
  /** This long after it began, a session is over however much it is used. */
  readonly absoluteMs: number;
}

/** A live session's row, its account's name and email joined. */
export interface StoredSession {
  readonly userId: string;
  readonly name: string;
  readonly guest: boolean;
  readonly accountId: string | undefined;
  readonly email: string | undefined;
  /** Its `last_seen_at` is older than the touch interval: `touchSession` it. */
  readonly touchDue: boolean;
}

/** What a new session row holds. */
export interface NewSession {
  readonly idHash: string;
  readonly userId: string;
  readonly name: string;
  readonly guest: boolean;
  readonly accountId: string | undefined;
}

const seconds = (ms: number) => ms / 1000;

/** The condition a live row meets: not revoked, not idle for too long, not too old. */
const live = (expiry: SessionExpiry) =>
  sql`not s.revoked
      and s.last_seen_at > now() - make_interval(secs => ${seconds(expiry.idleMs)})
      and s.created_at > now() - make_interval(secs => ${seconds(expiry.absoluteMs)})`;

/**
 * The live session stored under `idHash`, or `undefined` (unknown, revoked or expired). One
 * primary-key lookup (and the account's, by its primary key).
 */
export async function findSession(
  db: Queryable,
  idHash: string,
  expiry: SessionExpiry,
  touchEveryMs: number,
): Promise<StoredSession | undefined> {
  const { rows } = await db.query<{
    user_id: string;
    name: string;
    guest: boolean;
    account_id: string | null;
    email: string | null;
    touch_due: boolean;
  }>(
    sql`select s.user_id, coalesce(a.name, s.name) as name, s.guest, s.account_id, a.email,
               s.last_seen_at < now() - make_interval(secs => ${seconds(touchEveryMs)}) as touch_due
        from bff_sessions s left join bff_accounts a using (account_id)
        where s.id_hash = ${idHash} and ${live(expiry)}`,
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    userId: row.user_id,
    name: row.name,
    guest: row.guest,
    accountId: row.account_id ?? undefined,
    email: row.email ?? undefined,
    touchDue: row.touch_due,
  };
}

/** Records that the session was used now (its idle expiry starts again). */
export async function touchSession(db: Queryable, idHash: string): Promise<void> {
  await db.query(sql`update bff_sessions set last_seen_at = now() where id_hash = ${idHash}`);
}

export async function insertSession(db: Queryable, session: NewSession): Promise<void> {
  await db.query(
    sql`insert into bff_sessions (id_hash, user_id, name, guest, account_id)
        values (${session.idHash}, ${session.userId}, ${session.name}, ${session.guest},
                ${session.accountId ?? null})`,
  );
}

/** The session a revocation ended. */
export interface RevokedSession {
  readonly userId: string;
  readonly accountId: string | undefined;
}

/**
 * Revokes the session under `idHash` if it is live; returns it, or `undefined` if it was not.
 * In a transaction the row stays locked until the end: of two revocations of one session, only
 * the first one gets it back (e.g. two sign-ups racing for one guest's user id).
 */
export async function revokeSession(
  db: Queryable,
  idHash: string,
  expiry: SessionExpiry,
): Promise<RevokedSession | undefined> {
  const { rows } = await db.query<{ user_id: string; account_id: string | null }>(
    sql`update bff_sessions s set revoked = true
        where s.id_hash = ${idHash} and ${live(expiry)}
        returning s.user_id, s.account_id`,
  );
  const row = rows[0];
  return row && { userId: row.user_id, accountId: row.account_id ?? undefined };
}

/** Revokes every session of the account; how many were live. */
export async function revokeAccountSessions(db: Queryable, accountId: string): Promise<number> {
  const { rowCount } = await db.query(
    sql`update bff_sessions set revoked = true where account_id = ${accountId} and not revoked`,
  );
  return rowCount;
}

/** Names a guest's session: from now on it is no longer `guest`. */
export async function nameSession(db: Queryable, idHash: string, name: string): Promise<void> {
  await db.query(
    sql`update bff_sessions set name = ${name}, guest = false where id_hash = ${idHash}`,
  );
}

/**
 * Deletes up to `limit` rows unused for longer than the idle expiry: every expired or revoked
 * row ends up so, because nothing touches a session that no longer works. Returns how many.
 */
export async function deleteIdleSessions(
  db: Queryable,
  expiry: SessionExpiry,
  limit: number,
): Promise<number> {
  const { rowCount } = await db.query(
    sql`delete from bff_sessions where id_hash in (
          select id_hash from bff_sessions
          where last_seen_at < now() - make_interval(secs => ${seconds(expiry.idleMs)})
          limit ${limit})`,
  );
  return rowCount;
}
