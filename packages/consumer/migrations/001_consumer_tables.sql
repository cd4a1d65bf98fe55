-- Inbox: one row per (consumer, message) handled. The primary key is the deduplication: a
-- redelivered message conflicts here and its transaction changes nothing.
create table cads_inbox (
  consumer text not null,
  message_id text not null,
  handled_at timestamptz not null default now(),
  primary key (consumer, message_id)
);
create index cads_inbox_handled_at on cads_inbox (handled_at);

-- Outbox: messages written in the same transaction as the state change that caused them.
-- The relay publishes them in seq order with `id` as the broker's message id, then deletes them.
create table cads_outbox (
  seq bigserial primary key,
  id text not null unique,
  message jsonb not null,
  created_at timestamptz not null default now()
);

-- One relay per database publishes at a time; the lease passes on when its holder stops renewing.
create table cads_outbox_lease (
  name text primary key,
  holder text not null,
  expires_at timestamptz not null
);

-- Messages a consumer gave up on, with everything needed to understand and re-drive them.
create table cads_dead_letters (
  consumer text not null,
  message_id text not null,
  type text,
  subject text,
  body jsonb not null,
  reason text not null,
  error_name text not null,
  error_message text not null,
  error_stack text,
  attempts integer not null,
  first_failed_at timestamptz not null default now(),
  last_failed_at timestamptz not null default now(),
  redrive_requested_at timestamptz,
  primary key (consumer, message_id)
);
create index cads_dead_letters_redrive on cads_dead_letters (consumer, redrive_requested_at)
  where redrive_requested_at is not null;
