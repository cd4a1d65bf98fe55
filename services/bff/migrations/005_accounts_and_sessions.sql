-- Accounts: an email and a password (an scrypt hash that names its own parameters) owning one
-- user id. A guest who signs up keeps their user id, so what other services keep under it (orders,
-- notifications) is the account's without a copy.
create table bff_accounts (
  account_id text primary key,
  -- Trimmed and lower-cased by the BFF before it is stored or looked up.
  email text not null unique,
  password_hash text not null,
  user_id text not null unique,
  name text not null,
  created_at timestamptz not null default now()
);

-- Server-side sessions, shared by every BFF instance. The browser's cookie holds a random id;
-- only its SHA-256 is stored. A session is live while it is not revoked, was seen within the
-- idle expiry and was created within the absolute expiry (both BFF options, checked against
-- this database's clock). `name` and `guest` are the guest's; an account's name is on the
-- account. Expired and revoked rows are deleted once idle for longer than the idle expiry.
create table bff_sessions (
  id_hash text primary key,
  user_id text not null,
  name text not null,
  guest boolean not null,
  account_id text references bff_accounts (account_id) on delete cascade,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  revoked boolean not null default false
);

-- "Sign out everywhere" revokes every session of one account.
create index bff_sessions_by_account on bff_sessions (account_id) where account_id is not null;
-- The periodic clean-up finds rows idle for long.
create index bff_sessions_by_last_seen on bff_sessions (last_seen_at);
