-- The presence registry shared by every BFF instance: which users have a live connection
-- (SSE or WebSocket) on which instance. An instance refreshes its row while it runs; rows of
-- an instance that stopped refreshing are ignored (it died) and later removed.
create table bff_instances (
  instance_id text primary key,
  seen_at timestamptz not null
);

create table bff_presence (
  user_id text not null,
  instance_id text not null references bff_instances (instance_id) on delete cascade,
  primary key (user_id, instance_id)
);

create index bff_presence_by_instance on bff_presence (instance_id);

-- One row per final event this BFF decided about, for operators: whether the user was
-- notified or was online. The consumer's inbox already makes the decision once per event.
create table bff_final_events (
  event_id text primary key,
  order_id text not null,
  user_id text not null,
  type text not null,
  notified boolean not null,
  decided_at timestamptz not null default now()
);
