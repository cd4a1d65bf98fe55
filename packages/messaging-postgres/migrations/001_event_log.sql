-- The log: one row per stored message, in commit order of position.
-- Positions come from broker_head, updated in the publishing transaction: its row lock is held
-- until commit, so a position becomes visible only after every smaller one has committed (or
-- rolled back, leaving a gap). A reader that has seen position P can never see a smaller one
-- appear later, which a sequence would not guarantee.
create table broker_head (
  singleton boolean primary key default true check (singleton),
  position bigint not null
);
insert into broker_head (singleton, position) values (true, 0);

create table broker_log (
  position bigint primary key,
  id text not null,
  type text not null,
  key text,
  -- Text, not jsonb: stored as the producer sent it (no parse on write) and a payload that is
  -- not JSON can still be delivered, so the consumer can dead-letter it.
  payload text not null,
  published_at timestamptz not null default now()
);
create unique index broker_log_id on broker_log (id);
create index broker_log_type_position on broker_log (type, position);

-- Appends a batch in array order and notifies p_channel (delivered on commit) with the types
-- stored. The head row stays locked until the caller's transaction commits. Ids already stored
-- are skipped; their reserved positions stay as gaps. A function, so its plans are cached.
create function broker_publish(
  p_ids text[],
  p_types text[],
  p_keys text[],
  p_payloads text[],
  p_channel text,
  p_notify_prefix text
) returns void
language plpgsql as $$
declare
  v_base bigint;
  v_types text;
begin
  update broker_head set position = position + cardinality(p_ids)
  returning position - cardinality(p_ids) into v_base;

  with inserted as (
    insert into broker_log (position, id, type, key, payload)
    select v_base + m.n, m.id, m.type, m.key, m.payload
    from unnest(p_ids, p_types, p_keys, p_payloads) with ordinality as m(id, type, key, payload, n)
    on conflict (id) do nothing
    returning broker_log.type
  )
  select string_agg(distinct inserted.type, ',') into v_types from inserted;

  if v_types is not null then
    -- NOTIFY payloads are limited to 8000 bytes; an empty list means "any type".
    perform pg_notify(p_channel,
      p_notify_prefix || case when octet_length(v_types) <= 7000 then v_types else '' end);
  end if;
end
$$;

-- A consumer group: competing groups are durable, broadcast groups (one per subscribing
-- process) are deleted on stop or once seen_at is older than the expiry.
create table broker_group (
  id bigint generated always as identity primary key,
  name text not null unique,
  broadcast boolean not null,
  -- Every log entry of the group's types up to here has been copied into broker_delivery.
  -- Positions are visible in commit order, so nothing can appear below it later.
  read_position bigint not null,
  seen_at timestamptz not null default now()
);

-- The group's unsettled messages. A row is deleted when acked or rejected; its claim lapses
-- after the ack timeout, which is how work held by a crashed process is redelivered.
-- Per-key order: of the rows of one (group, key), only the earliest is unblocked; settling it
-- unblocks the next. Keeping this as a flag makes a fetch scan only deliverable rows, instead of
-- re-checking every waiting row of a busy key on every fetch.
create table broker_delivery (
  group_id bigint not null,
  position bigint not null,
  key text,
  blocked boolean not null,
  attempts integer not null default 0,
  visible_at timestamptz not null default '-infinity',
  claimed_until timestamptz,
  primary key (group_id, position)
);
create index broker_delivery_key on broker_delivery (group_id, key, position);
create index broker_delivery_ready on broker_delivery (group_id, position) where not blocked;

-- One fetch in one round trip: claim up to p_limit visible, unblocked rows whose claim is free or
-- lapsed; if that is not enough, copy the next log entries into the group (keeping at most
-- p_window unsettled rows per group, so a backlog is not copied all at once) and claim again.
-- The group row lock serialises the fetches of one group's members, and orders settles (which
-- take it in key-share mode) with the blocking decisions made here.
create function broker_fetch(
  p_group_id bigint,
  p_types text[],
  p_limit integer,
  p_window integer,
  p_claim_ms integer
) returns table (r_position bigint, r_attempts integer, r_payload text)
language plpgsql as $$
declare
  v_read bigint;
  v_claimed integer;
  v_room integer;
  v_last bigint;
  v_pulled integer;
  v_head bigint;
begin
  select g.read_position into v_read from broker_group g where g.id = p_group_id for update;
  if not found then
    raise exception 'cads.broker: consumer group % does not exist', p_group_id
      using errcode = 'P0002';
  end if;

  return query select * from broker_claim(p_group_id, p_limit, p_claim_ms);
  get diagnostics v_claimed = row_count;
  if v_claimed >= p_limit then
    return;
  end if;

  select p_window - count(*) into v_room
  from (select 1 from broker_delivery d where d.group_id = p_group_id limit p_window) held;
  if v_room <= 0 then
    return;
  end if;
  -- Small steps keep each fetch's work bounded; a step not cut short reached the head.
  v_room := least(v_room, greatest(4 * p_limit, 256));

  -- One index range per type, merged: a sort over the whole backlog would not scale. The head
  -- is read in the same snapshot: when the copy is not cut short, every entry of these types
  -- up to it has been seen, so the group moves there (idle groups then hold no retention).
  -- A row is blocked when an earlier unsettled row of the group has its key.
  with pulled as (
    insert into broker_delivery (group_id, position, key, blocked)
    select p_group_id, l.position, l.key,
           l.key is not null and (
             row_number() over (partition by l.key order by l.position) > 1
             or exists (select 1 from broker_delivery e
                        where e.group_id = p_group_id and e.key = l.key))
    from (
      select l.position, l.key
      from unnest(p_types) as t(type)
      cross join lateral (
        select e.position, e.key from broker_log e
        where e.type = t.type and e.position > v_read
        order by e.position
        limit v_room
      ) l
      order by l.position
      limit v_room
    ) l
    returning broker_delivery.position
  )
  select max(pulled.position), count(*), (select h.position from broker_head h)
  into v_last, v_pulled, v_head
  from pulled;
  if v_pulled < v_room then
    v_last := v_head;
  end if;
  if v_last > v_read then
    update broker_group set read_position = v_last where id = p_group_id;
  end if;

  if v_pulled > 0 then
    return query select * from broker_claim(p_group_id, p_limit - v_claimed, p_claim_ms);
  end if;
end
$$;

-- Claims, in position order, up to p_limit deliverable rows of a group (broker_fetch holds the
-- group lock). Rows copied later have higher positions, so two calls still return in order.
-- PL/pgSQL rather than SQL so that its plan is cached.
create function broker_claim(p_group_id bigint, p_limit integer, p_claim_ms integer)
returns table (r_position bigint, r_attempts integer, r_payload text)
language plpgsql as $$
begin
  return query
  with candidates as (
    select d.position from broker_delivery d
    where d.group_id = p_group_id
      and not d.blocked
      and d.visible_at <= now()
      and (d.claimed_until is null or d.claimed_until <= now())
    order by d.position
    limit p_limit
  ), claimed as (
    update broker_delivery d
    set attempts = d.attempts + 1,
        claimed_until = now() + p_claim_ms * interval '1 millisecond'
    from candidates c
    where d.group_id = p_group_id and d.position = c.position
    returning d.position, d.attempts
  )
  select c.position, c.attempts, l.payload
  from claimed c join broker_log l on l.position = c.position
  order by c.position;
end
$$;

-- Settles a batch in one round trip. Removal (ack, reject) always applies, since the message is
-- done whoever holds it, and unblocks the next row of its key. A retry applies only while the
-- row is on the attempt it was made for: a lapsed claim taken by another member is left alone.
-- The key-share group lock waits for a running fetch, so a row it is adding behind the removed
-- one is seen (and unblocked) here; it does not conflict with heartbeats.
create function broker_settle(
  p_group_ids bigint[],
  p_positions bigint[],
  p_attempts integer[],
  p_delays_ms float8[]
) returns void
language plpgsql as $$
begin
  perform 1 from broker_group g
  where g.id in (select distinct unnest(p_group_ids))
  order by g.id
  for key share;

  with input as (
    select * from unnest(p_group_ids, p_positions, p_attempts, p_delays_ms)
      as i(group_id, position, attempt, delay_ms)
  ), removed as (
    delete from broker_delivery d using input i
    where i.delay_ms is null and d.group_id = i.group_id and d.position = i.position
    returning d.group_id, d.position, d.key
  ), next as (
    select r.group_id,
           (select min(e.position) from broker_delivery e
            where e.group_id = r.group_id and e.key = r.key and e.position > r.position) as position
    from removed r
    where r.key is not null
  ), unblocked as (
    update broker_delivery d set blocked = false
    from next n
    where d.group_id = n.group_id and d.position = n.position
  )
  update broker_delivery d
  set claimed_until = null, visible_at = now() + i.delay_ms * interval '1 millisecond'
  from input i
  where i.delay_ms is not null and d.group_id = i.group_id and d.position = i.position
    and d.attempts = i.attempt;
end
$$;
