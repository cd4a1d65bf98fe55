-- One row per final saga event: event_id is the idempotency key, so a repeated or concurrent
-- POST can never store a second notification (insert ... on conflict do nothing).
create table notifications (
  seq bigint generated always as identity primary key,
  event_id text not null,
  order_id text not null,
  user_id text not null,
  kind text not null
    check (kind in ('finished', 'restaurant_rejected', 'rider_rejected', 'payment_rejected')),
  -- Plain text as sent by the client, never rendered here; readers must escape it.
  message text not null,
  receipt_id text,
  reason text,
  channel text not null check (channel in ('email', 'sms', 'push')),
  created_at timestamptz not null,
  constraint notifications_event_id_key unique (event_id)
);

create index notifications_by_order on notifications (order_id, created_at, seq);
create index notifications_by_user on notifications (user_id, created_at, seq);
