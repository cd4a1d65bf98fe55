import { type Queryable, sql } from '@cads/storage';

export interface NewAccount {
  readonly accountId: string;
  /** Normalised (`normaliseEmail`). */
  readonly email: string;
  readonly passwordHash: string;
  readonly userId: string;
  readonly name: string;
}

export interface StoredAccount {
  readonly accountId: string;
  readonly userId: string;
  readonly name: string;
  readonly email: string;
  readonly passwordHash: string;
}

/** Trimmed and lower-cased: how emails are stored and looked up, so `Ana@X.org` is `ana@x.org`. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Stores the account; false (nothing stored) when its email already has one. */
export async function insertAccount(db: Queryable, account: NewAccount): Promise<boolean> {
  const { rowCount } = await db.query(
    sql`insert into bff_accounts (account_id, email, password_hash, user_id, name)
        values (${account.accountId}, ${account.email}, ${account.passwordHash},
                ${account.userId}, ${account.name})
        on conflict (email) do nothing`,
  );
  return rowCount === 1;
}

/** The account of a normalised email, or `undefined`. */
export async function findAccountByEmail(
  db: Queryable,
  email: string,
): Promise<StoredAccount | undefined> {
  const { rows } = await db.query<{
    account_id: string;
    user_id: string;
    name: string;
    email: string;
    password_hash: string;
  }>(
    sql`select account_id, user_id, name, email, password_hash
        from bff_accounts where email = ${email}`,
  );
  const row = rows[0];
  return (
    row && {
      accountId: row.account_id,
      userId: row.user_id,
      name: row.name,
      email: row.email,
      passwordHash: row.password_hash,
    }
  );
}

export async function renameAccount(db: Queryable, accountId: string, name: string): Promise<void> {
  await db.query(sql`update bff_accounts set name = ${name} where account_id = ${accountId}`);
}

export async function replacePasswordHash(
  db: Queryable,
  accountId: string,
  passwordHash: string,
): Promise<void> {
  await db.query(
    sql`update bff_accounts set password_hash = ${passwordHash} where account_id = ${accountId}`,
  );
}
