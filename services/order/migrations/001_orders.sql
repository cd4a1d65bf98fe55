-- One row per accepted order. `status` is a cache of the fold over its events (see
-- src/domain/order-state.ts), rewritten in the same transaction as every event recorded.
create table orders (
  order_id text primary key,
  user_id text not null,
  restaurant_id text not null,
  cart jsonb not null,
  price_cents integer not null check (price_cents >= 0),
  status smallint not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);

-- History per user, newest first (UUIDv7 ids break ties in creation order too).
create index orders_by_user on orders (user_id, created_at desc, order_id desc);

-- Every saga event of every order, audited as received: idempotent by envelope id. An order
-- exists before any of its outcomes (they are caused by its order_created), hence the key.
create table order_events (
  event_id text primary key,
  order_id text not null references orders (order_id),
  type text not null,
  time timestamptz not null,
  data jsonb not null,
  recorded_at timestamptz not null default now()
);

create index order_events_by_order on order_events (order_id, time);
