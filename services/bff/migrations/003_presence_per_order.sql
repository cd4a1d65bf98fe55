-- Presence per order, not per user: the live stream is per order, so a user watching one order
-- is not live on their others, and a final event is decided by whether its own order is watched.
-- The old rows name no order: they are dropped, not converted. During a rolling upgrade the
-- connections held by instances of the previous version count as offline (their users are
-- notified) until those instances are replaced.
drop table bff_presence;

create table bff_presence (
  user_id text not null,
  order_id text not null,
  instance_id text not null references bff_instances (instance_id) on delete cascade,
  primary key (user_id, order_id, instance_id)
);

create index bff_presence_by_instance on bff_presence (instance_id);
