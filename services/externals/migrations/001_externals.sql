-- Config of one scope (`global`, `user:<id>`, `order:<id>`): a complete, validated ExternalsConfig.
create table externals_config (
  scope text primary key,
  config jsonb not null,
  updated_at timestamptz not null
);

-- One row per (system, method, idempotency key). `attempts` counts the calls that were
-- answered afresh (drives failFirst); `status`/`body` hold the first final answer, replayed.
create table externals_idempotency (
  system text not null,
  method text not null,
  key text not null,
  attempts integer not null,
  status integer,
  content_type text,
  body text,
  first_seen_at timestamptz not null,
  answered_at timestamptz,
  primary key (system, method, key)
);

create table externals_reservations (
  reservation_id text primary key,
  order_id text not null,
  user_id text not null,
  restaurant_id text not null,
  cart jsonb not null,
  price_cents integer not null,
  reserved_at timestamptz not null,
  released_at timestamptz
);
create index externals_reservations_order on externals_reservations (order_id);

create table externals_assignments (
  rider_id text primary key,
  order_id text not null,
  user_id text not null,
  rider_name text not null,
  rider_phone text not null,
  assigned_at timestamptz not null,
  released_at timestamptz
);
create index externals_assignments_order on externals_assignments (order_id);

-- Charges and refunds. A refund carries the receipt id of the charge it returns; the unique
-- key makes refunding one charge twice impossible, even from concurrent calls.
create table externals_ledger (
  entry_id bigint generated always as identity primary key,
  order_id text not null,
  user_id text not null,
  kind text not null check (kind in ('charge', 'refund')),
  amount_cents integer not null,
  receipt_id text not null,
  at timestamptz not null,
  unique (kind, receipt_id)
);
create index externals_ledger_order on externals_ledger (order_id);
