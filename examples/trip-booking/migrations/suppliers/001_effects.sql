-- Every call a supplier accepted, once per idempotency key: a repeated key changes nothing.
-- A booking is one 'book' row, its cancellation one 'cancel' row: two rows of one kind for one
-- trip and supplier would be a call made twice under two keys.
create table effects (
  idempotency_key text primary key,
  supplier text not null,
  trip_id text not null,
  action text not null check (action in ('book', 'cancel')),
  reference text not null,
  at timestamptz not null default now()
);

create index effects_by_trip on effects (trip_id, supplier);
